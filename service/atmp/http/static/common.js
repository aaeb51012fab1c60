// Every page: the expert view (codes and field paths beside the words) is a switch in the header, remembered in
// this browser; without it a page shows words only. Links into a closed passage of the rule book open it.
"use strict";
(function () {
  const box = document.getElementById("expert-view");
  const apply = (on) => document.body.classList.toggle("expert", on);
  let on = false;
  try { on = localStorage.getItem("atmp-expert") === "1"; } catch (e) { /* storage refused: words only */ }
  box.checked = on; apply(on);
  box.addEventListener("change", () => {
    apply(box.checked);
    try { localStorage.setItem("atmp-expert", box.checked ? "1" : "0"); } catch (e) { /* not remembered */ }
  });
  function openTarget() {
    if (!location.hash) return;
    const el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!el) return;
    for (let d = el; d; d = d.parentElement) if (d.tagName === "DETAILS") d.open = true;
    el.scrollIntoView({ block: "start" });
    el.classList.add("target");
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
