// SPARQL editor: named queries (GET /queries data embedded in the page) with their parameters, bound by
// POST /queries/{name}/bind, run by POST /sparql (the SPARQL 1.1 Protocol), results as a table or CSV.
"use strict";
const T = JSON.parse(document.getElementById("i18n").textContent);
const QUERIES = Object.fromEntries(JSON.parse(document.getElementById("queries").textContent).map((q) => [q.name, q]));
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const PRODUCT = document.getElementById("sparql-form").dataset.productNs;  // product IRIs link to their catalogue page
let loaded = null;

$("named").addEventListener("change", () => {
  const q = QUERIES[$("named").value];
  loaded = q || null;
  $("question").textContent = q ? q.question : "";
  $("params").innerHTML = q && q.parameters.length ? `<fieldset><legend>${esc(T.parameters)}</legend>${q.parameters.map((p) =>
    `<label>${esc(p.name)} <small>(${esc(p.type)}${p.required ? "" : ", optional"})</small> <input name="${esc(p.name)}" data-param="${esc(p.name)}" value="${esc(p.default || "")}" placeholder="${esc(p.description)}"></label>
     <span class="msg" data-msg-for="${esc(p.name)}"></span><br>`).join("")}</fieldset>` : "";
  if (q) $("query").value = q.text;
});

async function boundQuery() {
  const text = $("query").value;
  if (!loaded || text !== loaded.text || !loaded.parameters.length) return text;
  const params = {};
  document.querySelectorAll("[data-param]").forEach((i) => { params[i.dataset.param] = i.value; });
  document.querySelectorAll("#params .msg").forEach((m) => { m.textContent = ""; });
  const r = await fetch(`/queries/${encodeURIComponent(loaded.name)}/bind`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) });
  const body = await r.json();
  if (!r.ok) {
    for (const d of body.detail || []) {
      const m = document.querySelector(`#params [data-msg-for="${CSS.escape(d.loc[1] || "")}"]`);
      if (m) m.textContent = d.msg; else $("sparql-status").textContent = d.msg;
    }
    return null;
  }
  return body.query;
}
async function run(accept) {
  $("sparql-status").textContent = "…";
  const query = await boundQuery();
  if (query === null) { $("sparql-status").textContent = ""; $("results").innerHTML = ""; return null; }
  const r = await fetch("/sparql", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept }, body: new URLSearchParams({ query }) });
  if (!r.ok) {
    $("results").innerHTML = "";  // the previous answer's table does not belong to this query
    let msg = `HTTP ${r.status}`;
    try { msg += ": " + (await r.json()).detail; } catch (e) { /* not JSON */ }
    $("sparql-status").textContent = msg;
    return null;
  }
  return r;
}
function cell(term) {
  if (!term) return "";
  if (term.type === "uri") {
    const local = esc(term.value.replace(/^.*[/#]/, ""));
    return term.value.startsWith(PRODUCT) ? `<a href="/catalogue/${encodeURIComponent(term.value.slice(PRODUCT.length))}" title="${esc(term.value)}">${local}</a>` : `<span title="${esc(term.value)}">${local}</span>`;
  }
  return esc(term.value) + (term["xml:lang"] ? ` <small>@${esc(term["xml:lang"])}</small>` : "");
}
$("sparql-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await run("application/sparql-results+json, text/turtle;q=0.5");
  if (!r) return;
  const type = r.headers.get("content-type") || "";
  if (!type.includes("json")) { $("results").innerHTML = `<pre class="json">${esc(await r.text())}</pre>`; $("sparql-status").textContent = ""; return; }
  const data = await r.json();
  if ("boolean" in data) { $("results").innerHTML = `<p id="ask">${data.boolean}</p>`; $("sparql-status").textContent = ""; return; }
  const vars = data.head.vars, rows = data.results.bindings;
  $("sparql-status").textContent = `${rows.length} ${T.rows}`;
  $("results").innerHTML = `<table class="results" id="result-table"><thead><tr>${vars.map((v) => `<th>${esc(v)}</th>`).join("")}</tr></thead><tbody>${rows.map((b) =>
    `<tr>${vars.map((v) => `<td>${cell(b[v])}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
});
$("csv").addEventListener("click", async () => {
  const r = await run("text/csv");
  if (!r) return;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await r.blob()); a.download = `${loaded ? loaded.name : "query"}.csv`;
  document.body.appendChild(a); a.click(); a.remove();
  $("sparql-status").textContent = "CSV";
});
