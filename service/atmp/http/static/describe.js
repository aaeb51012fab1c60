// Describe a product: reads the form generated from the card schema and the ontology, classifies as the user edits
// (POST /classify and POST /validate), shows SHACL findings beside their fields and the nearest what-if boundaries
// (POST /whatif) as buttons that apply to the form. Every text comes from the page (i18n strings, ontology labels).
"use strict";
const T = JSON.parse(document.getElementById("i18n").textContent);
const SPEC = JSON.parse(document.getElementById("form-spec").textContent);
const LABELS = JSON.parse(document.getElementById("result-labels").textContent);
const CITES = JSON.parse(document.getElementById("citations").textContent);
const LANG = document.body.dataset.lang;
const form = document.getElementById("card-form");
const FIELDS = SPEC.sections.flatMap((s) => s.fields);
const TEXTS = FIELDS.filter((f) => f.kind === "texts");  // free text per language (the indication): read by no rule
const BY_PATH = Object.fromEntries(FIELDS.map((f) => [f.path, f]));
const revealed = new Set();
let seq = 0, timer = null, whatifTimer = null;

const txt = (d) => (d && (d[LANG] || d.en)) || "";
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fieldEl = (path) => form.querySelector(`.field[data-path="${CSS.escape(path)}"]`);
const inputOf = (path) => document.getElementById("in-" + path);
function label(field, code) {
  if (code === null || code === undefined) return T.none;
  const l = (LABELS[field] || {})[String(code)];
  return l ? txt(l) : String(code);
}
// a source literal in words, each piece linked to its text in the rule book (the page's language; built by the server)
function cite(source) {
  if (!source) return "";
  const pieces = CITES.literals[source];
  if (!pieces) return `<span class="src">${esc(source)}</span>`;
  return `<span class="src">${pieces.map(([sep, text, anchor, title]) =>
    esc(sep) + (anchor ? `<a class="cite" href="/rules#${esc(anchor)}" title="${esc(CITES.titles[title])}">${esc(text)}</a>` : esc(text))).join("")}</span>`;
}
// a card field and a value in words (the form's own names and option labels)
function fieldName(path) { const f = BY_PATH[path]; return f ? txt(f.name) : path; }
// any path of the card in words: a field of the form, an identity field, or the card itself
function pathName(path) {
  if (!path) return T.the_card;
  const f = BY_PATH[path] || SPEC.identity.find((x) => x.path === path);
  return f ? txt(f.name) : path;
}
function valueWords(path, value) {
  const f = BY_PATH[path];
  if (value === null || value === undefined) return T.not_stated;
  if (typeof value === "boolean") return value ? T.yes : T.no;
  const values = Array.isArray(value) ? value : [value];
  const opts = Object.fromEntries(((f && f.options) || []).map((o) => [o.code, txt(o.label)]));
  return values.map((v) => opts[v] || String(v)).join(LANG === "zh" ? "、" : ", ");
}

// ---------------------------------------------------------------- the card <-> the form
function valueOf(f) {
  const el = inputOf(f.path);
  if (f.kind === "list") return [...el.querySelectorAll("input:checked")].map((i) => i.value);
  if (el.value === "") return undefined;
  if (f.kind === "bool") return el.value === "true";
  return el.value;
}
function hasValue(f) { const v = valueOf(f); return Array.isArray(v) ? v.length > 0 : v !== undefined; }
function readCard() {
  const card = {};
  const id = document.getElementById("in-id").value.trim();
  card.id = id || "my-product";
  const labelEn = document.getElementById("in-label.en").value.trim(), labelZh = document.getElementById("in-label.zh").value.trim();
  if (labelEn || labelZh) card.label = Object.assign({}, labelEn ? { en: labelEn } : {}, labelZh ? { zh: labelZh } : {});
  for (const s of SPEC.sections) {
    card[s.name] = {};
    for (const f of s.fields) {
      if (f.kind === "texts") {
        const texts = {};
        for (const lg of f.langs) { const v = document.getElementById(`in-${f.path}.${lg}`).value.trim(); if (v) texts[lg] = v; }
        if (Object.keys(texts).length) card[s.name][f.key] = texts;
        continue;
      }
      if (fieldEl(f.path).hidden) continue;
      const v = valueOf(f);
      if (Array.isArray(v)) { if (v.length || f.required) card[s.name][f.key] = v; }
      else if (v !== undefined) card[s.name][f.key] = v;
    }
  }
  return card;
}
function setValue(f, v) {
  const el = inputOf(f.path);
  if (f.kind === "list") {
    const want = new Set(v || []);
    el.querySelectorAll("input").forEach((i) => { i.checked = want.has(i.value); });
  } else if (v === undefined || v === null) el.value = "";
  else el.value = String(v);
}
function fillForm(card, notes = []) {
  document.getElementById("in-id").value = card.id || "";
  document.getElementById("in-label.en").value = (card.label || {}).en || "";
  document.getElementById("in-label.zh").value = (card.label || {}).zh || "";
  revealed.clear();
  // Nothing the form cannot hold is dropped silently: unknown keys and codes are named in the message.
  const known = new Set(["id", "label", ...SPEC.sections.map((s) => s.name)]);
  const problems = [...notes.map((n) => ({ path: "", msg: n })), ...Object.keys(card).filter((k) => !known.has(k)).map((k) => ({ path: k, msg: T.not_kept }))];
  for (const s of SPEC.sections) {
    const part = card[s.name] || {};
    for (const key of Object.keys(part)) if (!BY_PATH[s.name + "." + key]) problems.push({ path: `${s.name}.${key}`, msg: T.not_kept });
    for (const f of s.fields) {
      const v = part[f.key];
      if (f.kind === "texts") {
        for (const lg of f.langs) document.getElementById(`in-${f.path}.${lg}`).value = (v && typeof v === "object" && typeof v[lg] === "string") ? v[lg] : "";
        continue;
      }
      setValue(f, v);
      const allowed = new Set((f.options || []).map((o) => o.code));
      if (f.kind === "list" && v !== undefined) {
        const bad = Array.isArray(v) ? v.filter((c) => !allowed.has(c)) : [JSON.stringify(v)];
        if (bad.length) problems.push({ path: f.path, msg: `${T.unknown_code} ${bad.join(", ")}` });
      } else if (v !== undefined && v !== null && (f.kind === "code" ? !allowed.has(v) : typeof v !== "boolean")) {
        problems.push({ path: f.path, msg: `${T.unknown_code} ${JSON.stringify(v)}` });
      }
    }
  }
  updateVisibility();
  // what the form cannot hold and the server did not already name (it names every problem of an uploaded card)
  const named = new Set(pinned.flatMap((e) => [problemField(e), (e.path || "").replace(/\[\d+\]$/, "")]));
  for (const p of problems) if (!named.has(problemField(p))) pinned.push(p);
  changed();
}

// ---------------------------------------------------------------- conditional fields (conditions from the SHACL shapes)
function conditionHolds(cond) {
  return cond.some((all) => all.every((c) => {
    const f = BY_PATH[c.path], v = valueOf(f);
    return Array.isArray(v) ? v.includes(c.code) : v === c.code;
  }));
}
function makeChips() {
  for (const s of SPEC.sections) {
    const more = form.querySelector(`[data-more-for="${s.name}"]`);
    for (const f of s.fields) {
      if (!f.conditions.length) continue;
      const b = document.createElement("button");
      b.type = "button"; b.className = "chip"; b.dataset.reveal = f.path; b.textContent = "+ " + txt(f.label);
      b.addEventListener("click", () => { revealed.add(f.path); updateVisibility(); inputOf(f.path).focus(); });
      more.appendChild(b);
    }
  }
}
function updateVisibility() {
  for (const s of SPEC.sections) {
    const more = form.querySelector(`[data-more-for="${s.name}"]`);
    for (const f of s.fields) {
      if (!f.conditions.length) continue;
      const show = conditionHolds(f.conditions) || hasValue(f) || revealed.has(f.path);
      fieldEl(f.path).hidden = !show;
      more.querySelector(`[data-reveal="${CSS.escape(f.path)}"]`).hidden = show;
    }
    more.hidden = !more.querySelector("button:not([hidden])");
  }
}

// ---------------------------------------------------------------- messages beside fields
function clearMsgs() {
  form.querySelectorAll(".msg[data-msg-for]").forEach((m) => { m.textContent = ""; m.className = "msg"; });
  form.querySelectorAll(".field").forEach((el) => el.classList.remove("bad", "warn"));
}
function fieldMsg(path, text, cls) {
  let p = path;
  while (p && !form.querySelector(`[data-msg-for="${CSS.escape(p)}"]`)) p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
  const m = p && form.querySelector(`[data-msg-for="${CSS.escape(p)}"]`);
  if (!m) return false;
  if (fieldEl(p)) { fieldEl(p).hidden = false; fieldEl(p).classList.add(cls === "violation" ? "bad" : "warn"); }
  const line = document.createElement("span");
  line.className = "line " + cls; line.textContent = text;
  m.appendChild(line); m.classList.add(cls);
  return true;
}
function showMsg(id, text) { const el = document.getElementById(id); el.textContent = text; }
function updateDefs() {
  for (const f of FIELDS) {
    if (f.kind !== "code") continue;
    const d = form.querySelector(`[data-def-for="${CSS.escape(f.path)}"]`);
    const o = f.options.find((o) => o.code === inputOf(f.path).value);
    d.innerHTML = o ? esc(txt(o.definition)) + (o.source ? " " + cite(o.source) : "") + ` <code class="code">${esc(o.code)}</code>` : "";
  }
}

// ---------------------------------------------------------------- classify as the user edits
function changed() {
  updateVisibility(); updateDefs();
  const card = readCard();
  document.getElementById("card-json").value = JSON.stringify(card, null, 2);
  sessionStorage.setItem("atmp-card", JSON.stringify(card));
  document.body.dataset.busy = "classify";
  clearTimeout(timer);
  timer = setTimeout(() => classify(card), 200);
}
async function post(url, body, accept) {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: accept || "application/json" }, body: JSON.stringify(body) });
  return r;
}
// a 422 answer: every problem of the card, each with its path, its message in the page's language and what to type instead
function cardErrors(detail) {
  const items = Array.isArray(detail) ? detail : [{ msg: String(detail), loc: ["body"] }];
  return items.map((d) => ({
    path: d.field !== undefined ? d.field : (d.loc || []).filter((x) => x !== "body").join("."),
    msg: (d.message && (d.message[LANG] || d.message.en)) || d.msg,
    suggestion: d.suggestion,
  }));
}
async function classify(card) {
  const mine = ++seq;
  document.getElementById("status").textContent = T.working;
  let res, val;
  try {
    const [r1, r2] = await Promise.all([post("/classify", card), post("/validate", card)]);
    if (mine !== seq) return;
    if (r1.status === 422) return showIncomplete(cardErrors((await r1.json()).detail));
    if (!r1.ok) return showIncomplete([{ path: "", msg: `HTTP ${r1.status}: ${(await r1.text()).slice(0, 300)}` }]);
    res = await r1.json(); val = r2.ok ? await r2.json() : { warnings: [] };
  } catch (e) {
    if (mine === seq) showIncomplete([{ path: "", msg: String(e) }]);
    return;
  }
  document.getElementById("status").textContent = "";
  clearMsgs();
  renderResult(res, val);
  document.body.dataset.busy = "whatif";
  clearTimeout(whatifTimer);
  whatifTimer = setTimeout(() => { whatif(card, mine); precedents(card, mine); }, 150);
}
function showIncomplete(errors) {
  document.getElementById("status").textContent = "";
  clearMsgs();
  for (const e of errors) problemMsg(e);
  showPinned();
  document.getElementById("result").innerHTML = `<p class="incomplete">${esc(T.incomplete)}</p><ul class="errors">${errors.map((e) =>
    `<li data-path="${esc(e.path || "")}"><b>${esc(pathName(e.path))}</b>: ${esc(e.msg)} <code class="code">${esc(e.path || "")}</code></li>`).join("")}</ul>`;
  document.getElementById("whatif").innerHTML = "";
  delete document.body.dataset.busy;
}
// ---------------------------------------------------------------- a problem beside its field, with what to type instead
// The field a problem concerns: a list item's list (process.manipulations[0]); for a field the card misspelt, the one meant.
function problemField(e) {
  const path = (e.path || "").replace(/\[\d+\]$/, "");
  if (BY_PATH[path] || SPEC.identity.some((f) => f.path === path)) return path;
  if (typeof e.suggestion === "string" && BY_PATH[e.suggestion]) return e.suggestion;
  return path;
}
function problemMsg(e) {
  const path = problemField(e);
  if (!fieldMsg(path, e.msg, "violation")) return false;
  if (e.suggestion === undefined || e.suggestion === null) return true;
  const m = form.querySelector(`[data-msg-for="${CSS.escape(path)}"]`);
  const b = document.createElement("button");
  b.type = "button"; b.className = "chip use"; b.dataset.use = path;
  b.textContent = `${T.use} ${useWords(e, path)}`;
  b.addEventListener("click", () => applySuggestion(e, path));
  m.lastChild.appendChild(document.createTextNode(" ")); m.lastChild.appendChild(b);
  return true;
}
function useWords(e, path) {
  if (path !== (e.path || "").replace(/\[\d+\]$/, "") && BY_PATH[path]) return fieldName(path);  // a misspelt field: the one meant
  if (BY_PATH[path]) return valueWords(path, e.suggestion);
  return String(e.suggestion);
}
function applySuggestion(e, path) {
  const f = BY_PATH[path];
  unpin(path);
  if (!f) { const input = inputOf(path); if (input) input.value = String(e.suggestion); changed(); return; }
  if (path !== (e.path || "").replace(/\[\d+\]$/, "")) {  // a misspelt field: its value moves to the field meant
    const [section, key] = e.path.split(".");
    setValue(f, ((uploaded || {})[section] || {})[key]);
  } else if (f.kind === "list") {
    const box = inputOf(path).querySelector(`input[value="${CSS.escape(String(e.suggestion))}"]`);
    if (box) box.checked = true;
  } else setValue(f, e.suggestion);
  if (f.conditions.length) revealed.add(f.path);
  changed();
}
// problems of an uploaded card stay beside their fields until the field is edited or the suggestion used
let pinned = [], uploaded = null;
function unpin(path) { pinned = pinned.filter((e) => problemField(e) !== path); showUploadSummary(); }
function showPinned() { for (const e of pinned) problemMsg(e); }
function showUploadSummary() {
  const box = document.getElementById("upload-msg");
  box.innerHTML = pinned.length ? `${esc(T.bad_file)}<ul class="errors">${pinned.map((e) =>
    `<li><b>${esc(pathName(problemField(e)))}</b>: ${esc(e.msg)} <code class="code">${esc(e.path || "")}</code></li>`).join("")}</ul>` : "";
}
function row(name, value, cls) { return `<tr class="${cls || ""}"><th>${esc(name)}</th><td>${value}</td></tr>`; }
// a result value in words; its code only in the expert view
function valueCell(field, value) {
  return value === null || value === undefined ? esc(T.none) : esc(label(field, value)) + ` <code class="code">${esc(value)}</code>`;
}
// One explanation entry: the one place this page writes it (templates/explanation.html is its twin). Its headline in
// words (entries that carry `headline`), else its rule's label; the sentence; each reason in words (reasonText).
function explanationItem(e) {
  const head = e.headline ? txt(e.headline) : txt(e.label);
  const reasons = (e.because || []).map(reasonItem).filter(Boolean).join("");
  return `<li data-conclusion="${esc(e.conclusion)}"><details><summary>${esc(head)} ${cite(e.source)} <code class="code">${esc(e.conclusion)}</code></summary>${e.text ? `<p>${esc(txt(e.text))}</p>` : ""}<ul>${reasons}</ul></details></li>`;
}
// One reason: a card fact as the field's name and the value's label; anything else by the words it carries.
function reasonText(b) {
  if (b.field && BY_PATH[b.field]) return `${fieldName(b.field)}${LANG === "zh" ? "：" : ": "}${valueWords(b.field, b.value)}`;
  return b[LANG] || b.en || "";
}
function reasonItem(b) {
  const words = reasonText(b);
  if (!words && !b.source) return "";
  return `<li class="${b.holds === false ? "no" : "yes"}" data-kind="${esc(b.kind || "")}">${esc(words)}${b.source && !words.includes(b.source) ? " " + cite(b.source) : ""}</li>`;
}
function renderResult(r, v) {
  const parts = [];
  parts.push('<table class="summary" id="summary">');
  parts.push(row(T.atmp, r.atmp ? esc(T.yes) : esc(T.not_atmp), "atmp"));
  if (r.exclusion) parts.push(`<tr data-result="exclusion"><th>${esc(T.excluded)}</th><td>${valueCell("exclusion", r.exclusion)}</td></tr>`);
  const show = (name, field, value, key) => parts.push(`<tr data-result="${key}"><th>${esc(name)}</th><td>${valueCell(field, value)}</td></tr>`);
  show(T.nmpa_class, "nmpa.class", r.nmpa.class, "nmpa.class");
  show(T.nmpa_subclass, "nmpa.subclass", r.nmpa.subclass, "nmpa.subclass");
  show(T.tj_category, "tianjin.category", r.tianjin.category, "tianjin.category");
  show(T.tj_subcategory, "tianjin.subcategory", r.tianjin.subcategory, "tianjin.subcategory");
  show(T.tj_tier, "tianjin.risk_tier", r.tianjin.risk_tier, "tianjin.risk_tier");
  const crit = r.tianjin.criteria.map((n) => `<li data-criterion="${n}">${esc(label("tianjin.criteria", n))} ${cite(((LABELS["tianjin.criteria"] || {})[n] || {}).source)}</li>`).join("");
  parts.push(`<tr data-result="tianjin.criteria"><th>${esc(T.criteria)}</th><td>${crit ? `<ul class="criteria" data-numbers="${r.tianjin.criteria.join(",")}">${crit}</ul>` : esc(T.none)}</td></tr>`);
  parts.push("</table>");
  const name = (b) => ((LABELS.borderline || {})[b.code] ? `<b>${esc(label("borderline", b.code))}</b> ` : "");
  const where = (b) => (b.path && BY_PATH[b.path] ? ` <span class="where">(${esc(fieldName(b.path))})</span>` : "") + (b.path ? ` <code class="code">${esc(b.path)}</code>` : "");
  const list = (title, items, cls) => items.length ? `<h3>${esc(title)}</h3><ul class="${cls}">${items.map((b) => `<li data-code="${esc(b.code)}">${name(b)}${esc(txt(b.message))} ${cite(b.source)}${where(b)} <code class="code">${esc(b.code)}</code></li>`).join("")}</ul>` : "";
  parts.push(list(T.borderline, r.borderline, "borderline"));
  parts.push(list(T.violations, r.violations, "violations"));
  const inBorderline = new Set(r.borderline.map((b) => b.code));
  const warnings = ((v && v.warnings) || []).filter((w) => !inBorderline.has(w.code));  // the borderline list has those already
  parts.push(list(T.warnings, warnings, "warnings"));
  if (r.conforms) parts.push(`<p class="ok">${esc(T.conforms)}</p>`);
  parts.push(renderRegimes(r));
  parts.push(`<details class="explanation" id="explanation"><summary>${esc(T.explanation)} (${r.explanation.length})</summary><ol>${r.explanation.map(explanationItem).join("")}</ol></details>`);
  document.getElementById("result").innerHTML = parts.join("");
  for (const x of r.violations) if (x.path) fieldMsg(x.path, txt(x.message), "violation");
  for (const x of warnings) if (x.path) fieldMsg(x.path, txt(x.message), "warning");
  showPinned();
}

// the other regimes' blocks (any result object with its own explanation list: eu, us, jp) and the crosswalk
function renderRegimes(r) {
  const blocks = Object.keys(r).filter((k) => r[k] && typeof r[k] === "object" && !Array.isArray(r[k]) && "explanation" in r[k]);
  if (!blocks.length && !(r.crosswalk || []).length) return "";
  const rows = [];
  for (const k of blocks) {
    for (const [sub, value] of Object.entries(r[k])) {
      if (sub === "borderline" || sub === "explanation") continue;
      const field = `${k}.${sub}`;
      if (!LABELS[field]) continue;
      if (typeof value === "boolean") rows.push(`<tr data-result="${esc(field)}"><th>${esc(label(field, "true"))}</th><td>${esc(value ? T.yes : T.no)} <code class="code">${esc(field)}</code></td></tr>`);
      else rows.push(`<tr data-result="${esc(field)}"><th>${esc(T[field] || field)}</th><td>${valueCell(field, value)}</td></tr>`);
    }
  }
  const notes = blocks.flatMap((k) => r[k].borderline || []);
  const xw = (r.crosswalk || []).map((x) => `<li data-code="${esc(x.code)}"><b>${esc(txt(x.summary))}</b> ${esc(txt(x.message))} ${cite(x.source)}</li>`).join("");
  return `<h3>${esc(T.regimes)}</h3><table class="summary" id="regimes">${rows.join("")}</table>` +
    (notes.length ? `<ul class="regime-notes">${notes.map((b) => `<li data-code="${esc(b.code)}">${esc(txt(b.message))} ${cite(b.source)}</li>`).join("")}</ul>` : "") +
    `<h3>${esc(T.crosswalk)}</h3>` + (xw ? `<ul class="crosswalk" id="crosswalk">${xw}</ul>` : `<p>${esc(T.no_crosswalk)}</p>`);
}

// ---------------------------------------------------------------- what if
const WHATIF_SHOWN = 10;  // the first changes shown; the rest behind "more"
async function whatif(card, mine) {
  const box = document.getElementById("whatif");
  let r;
  try {
    r = await post("/whatif", card);
  } catch (e) { if (mine === seq) delete document.body.dataset.busy; return; }
  if (mine !== seq) return;
  if (!r.ok) { box.innerHTML = ""; delete document.body.dataset.busy; return; }
  const report = await r.json();
  if (mine !== seq) return;
  delete document.body.dataset.busy;
  if (!report.ranked.length) { box.innerHTML = `<p>${esc(T.whatif_none)}</p>`; return; }
  // one entry per change, with every boundary it moves (atmp.analysis.whatif.ranked: the sponsor's order)
  const item = (e, i) => {
    const what = e.changes.map((c) => `${fieldName(c.field)} ${c.op === "add" ? "+" : c.op === "remove" ? "−" : "→"} ${valueWords(c.field, c.value)}`).join("; ");
    const moves = e.crosses.map((x) => {
      const from = x.from === null ? T.none : label(x.field, x.from), to = x.to === null ? T.none : label(x.field, x.to);
      const rule = x.rule ? ` ${cite(x.rule.source)}` : "";
      return `<span class="move" data-boundary="${esc(x.boundary)}" data-to="${esc(JSON.stringify(x.to))}">${esc(T["boundary_" + x.boundary] || x.boundary)}: ${esc(from)} ⟶ <b>${esc(to)}</b>${rule}</span>`;
    }).join("; ");
    return `<li class="${e.plausible ? "plausible" : "implausible"}" data-rank="${i}"><button type="button" class="change" data-rank="${i}" data-text="${esc(e.text)}" title="${esc(e.text)}">${esc(what)}</button><span class="moves">${esc(T.whatif_crosses)}: ${moves}</span></li>`;
  };
  const head = report.ranked.slice(0, WHATIF_SHOWN).map(item).join("");
  const rest = report.ranked.slice(WHATIF_SHOWN).map((e, j) => item(e, j + WHATIF_SHOWN)).join("");
  box.innerHTML = `<ol class="ranked" id="whatif-ranked">${head}</ol>` +
    (rest ? `<details class="more" id="whatif-more"><summary>${report.ranked.length - WHATIF_SHOWN} ${esc(T.whatif_more)}</summary><ol class="ranked" start="${WHATIF_SHOWN + 1}">${rest}</ol></details>` : "");
  box.querySelectorAll("button.change").forEach((b) => b.addEventListener("click", () => applyChanges(report.ranked[+b.dataset.rank].changes)));
}
// Precedents (POST /similar, atmp.analysis.similar): the catalogue's nearest products under the rules, their published
// decisions, the differences in words with what each moves, and red flags where a precedent's decision and this answer differ
async function precedents(card, mine) {
  const box = document.getElementById("precedents");
  let r;
  try { r = await post("/similar", card); } catch (e) { return; }
  if (mine !== seq) return;
  if (!r.ok) { box.innerHTML = ""; return; }
  const report = await r.json();
  if (mine !== seq) return;
  const fieldWords = (f) => (report.field_labels[f] || {})[LANG] || f;
  const item = (p) => {
    const decisions = p.decisions.map((d) => `<li class="decision">${esc(d.text[LANG])} <span class="src">${esc(d.source || "")}</span></li>`).join("");
    const diffs = p.differences.map((d) => `<li data-field="${esc(d.field)}">${esc(d.text[LANG])}${d.moves.length ? ` <span class="moves">⟶ ${esc(d.moves.map(fieldWords).join(", "))}</span>` : ""} <code class="code">${esc(d.field)}</code></li>`).join("");
    return `<li data-precedent="${esc(p.id)}"><a href="/catalogue/${encodeURIComponent(p.id)}">${esc(p.label[LANG])}</a> <code class="code">${esc(p.id)} ${esc(p.distance)}</code>` +
      (decisions ? `<ul class="decisions">${decisions}</ul>` : "") + `<ul class="differences">${diffs || `<li>${esc(T.precedent_same)}</li>`}</ul></li>`;
  };
  const flags = report.red_flags.map((f) => `<li class="red-flag" data-precedent="${esc(f.precedent)}" data-field="${esc(f.field)}">${esc(f.text[LANG])}</li>`).join("");
  box.innerHTML = `<ol id="precedent-list">${report.precedents.map(item).join("")}</ol>` + (flags ? `<h4>${esc(T.red_flags)}</h4><ul class="red-flags" id="red-flags">${flags}</ul>` : "");
}
function applyChanges(changes) {
  for (const c of changes) {
    const f = BY_PATH[c.field];
    if (!f) continue;
    if (c.op === "set") setValue(f, c.value === null ? undefined : c.value);
    else {
      const box = inputOf(f.path).querySelector(`input[value="${CSS.escape(c.value)}"]`);
      if (box) box.checked = c.op === "add";
    }
    if (f.conditions.length) revealed.add(f.path);
  }
  changed();
}

// ---------------------------------------------------------------- start, upload, export, report
document.getElementById("start-from").addEventListener("change", async (e) => {
  const id = e.target.value;
  if (!id) { fillForm({ substance: {}, process: {}, function: {} }); return; }
  document.body.dataset.busy = "load"; // busy from the first moment: the product is fetched before it is classified
  let r;
  try { r = await fetch("/products/" + encodeURIComponent(id)); } catch (err) { r = null; }
  if (r && r.ok) fillForm((await r.json()).card);
  else { delete document.body.dataset.busy; showMsg("upload-msg", `${T.not_found}: ${id}` + (r ? ` (HTTP ${r.status})` : "")); }
});
// where JSON.parse stopped, as line and column: the browser's message names them or the character's position
function jsonWhere(err, text) {
  const m = /line (\d+) column (\d+)/.exec(err.message);
  if (m) return { line: +m[1], column: +m[2] };
  const pos = /position (\d+)/.exec(err.message);
  if (!pos) return null;
  const before = text.slice(0, +pos[1]).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
document.getElementById("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  showMsg("upload-msg", "");
  pinned = []; uploaded = null;
  if (!file) return;
  document.body.dataset.busy = "load"; // busy while the file is read and checked, until the form is classified
  let filled = false;
  try { filled = await readUpload(file); } catch (err) { showMsg("upload-msg", `${T.bad_file} ${err}`); } finally { if (!filled) delete document.body.dataset.busy; }
});
// true once the card is in the form (which then classifies it); false when a message says why it is not
async function readUpload(file) {
  // the service's one JSON decoder reads the file (as atmp classify would: duplicate keys, NaN, deep nesting are
  // refused naming the field, and a file that is not JSON says where reading stopped), not JSON.parse, which keeps
  // the last of two duplicate keys without a word
  const text = await file.text();
  try { JSON.parse(text); } catch (err) {  // not JSON at all: where reading stopped, in the page's language
    const at = jsonWhere(err, text);
    showMsg("upload-msg", at ? T.not_json_at.replace("{line}", at.line).replace("{column}", at.column) : T.not_json);
    return false;
  }
  const r0 = await fetch("/workbench/decode", { method: "POST", headers: { "content-type": "application/json" }, body: text });
  if (!r0.ok) {
    let detail = `HTTP ${r0.status}`;
    try { detail = cardErrors((await r0.json()).detail).map((e) => (e.path ? `${e.path}: ${e.msg}` : e.msg)).join("; "); } catch (err) { /* keep the status */ }
    showMsg("upload-msg", `${T.bad_file} ${detail}`);
    return false;
  }
  let card = await r0.json();
  const notes = [];
  if (Array.isArray(card)) {
    if (card.length > 1) notes.push(T.first_of_many.replace("{n}", card.length));
    card = card[0];
  }
  if (!card || typeof card !== "object" || Array.isArray(card)) { showMsg("upload-msg", T.not_a_card); return false; }
  uploaded = card;
  // every problem of the card at once, each with what to type instead (the server reads it as atmp classify does)
  const r = await post("/classify?explain=none", card);
  if (r.status === 422) pinned = cardErrors((await r.json()).detail);
  else if (r.ok) pinned = ((await r.json()).warnings || []).filter((w) => w.code === "unknown_field").map((w) => ({
    path: w.field,
    msg: (w.suggestion ? T.not_a_field_meant : T.not_a_field).replace("{key}", w.field.split(".").pop()).replace("{field}", w.suggestion ? fieldName(w.suggestion) : ""),
    suggestion: w.suggestion,
  }));
  fillForm(card, notes);
  showUploadSummary();
  return true;
}
function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
document.getElementById("copy-json").addEventListener("click", async () => {
  const text = document.getElementById("card-json").value;
  try { await navigator.clipboard.writeText(text); } catch (e) { const ta = document.getElementById("card-json"); ta.select(); document.execCommand("copy"); }
  showMsg("export-msg", T.copied);
});
document.getElementById("download-json").addEventListener("click", () => {
  const card = readCard();
  saveBlob(new Blob([JSON.stringify(card, null, 2) + "\n"], { type: "application/json" }), `${card.id}.json`);
});
async function report(accept, ext) {
  const card = readCard();
  showMsg("export-msg", "");
  const r = await post(`/report?lang=${encodeURIComponent(LANG)}`, card, accept);  // the page's language, not both
  if (r.status === 404 || r.status === 405) { showMsg("export-msg", T.report_missing); return; }
  if (!r.ok) { showMsg("export-msg", `HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`); return; }
  saveBlob(await r.blob(), `${card.id}-report.${ext}`);
}
document.getElementById("report-html").addEventListener("click", () => report("text/html", "html"));
document.getElementById("report-md").addEventListener("click", () => report("text/markdown", "md"));

form.addEventListener("input", (ev) => { const el = ev.target.closest(".field"); if (el) unpin(el.dataset.path); changed(); });
form.addEventListener("change", changed);
form.addEventListener("submit", (e) => e.preventDefault());
(function start() {
  makeChips();
  const params = new URLSearchParams(location.search);
  const from = params.get("from");
  if (from) {
    const sel = document.getElementById("start-from");
    sel.value = from;
    if (sel.value === from) { sel.dispatchEvent(new Event("change")); return; }
    showMsg("upload-msg", `${T.not_found}: ${from}`); // a link to a product this catalogue lacks: said, then an empty form
  }
  const saved = sessionStorage.getItem("atmp-card");
  if (saved) { try { fillForm(JSON.parse(saved)); return; } catch (e) { /* start empty */ } }
  changed();
})();
