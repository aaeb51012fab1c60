// Catalogue filters: each select keeps the rows whose data attribute holds its value (the table is rendered by the server).
"use strict";
const selects = [...document.querySelectorAll("[data-filter]")];
function apply() {
  let shown = 0;
  for (const tr of document.querySelectorAll("#catalogue tbody tr")) {
    const ok = selects.every((s) => {
      const want = s.value, have = tr.getAttribute("data-" + s.dataset.filter) || "";
      if (!want) return true;
      if (s.dataset.filter === "borderline") {
        if (want === "*") return have !== "";
        if (want === "-") return have === "";
        return have.split(" ").includes(want);
      }
      return have === want;
    });
    tr.hidden = !ok;
    if (ok) shown++;
  }
  document.getElementById("count").textContent = shown;
}
selects.forEach((s) => s.addEventListener("change", apply));
