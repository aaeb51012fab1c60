"""``atmp report``: one decision document per product, in Chinese and English, that a committee can read.

Modelled on EMA CAT's scientific-recommendation summaries (description, outcome, reasons with the
articles) and on a Chinese 属性界定 review memo: the product described in words, the conclusions with
their citations, the deciding reasons in prose (the ``brief`` proof of :mod:`atmp.core.explain.brief`),
the borderline situations and what a reviewer should look at, the nearest boundaries (the smallest
changes that move class or tier, from :func:`atmp.analysis.whatif.whatif`), the SHACL findings, and
traceability (the ontology's version and the SHA-256 of the card's canonical JSON).

Every code shown is written with its label from the ontology (result classes, vocabulary individuals,
properties), never raw. A report is first gathered (:func:`gather`: classification and what-if, the
expensive part, done once), then rendered (:func:`render`) as Markdown or as one self-contained HTML
file (inline CSS with a print stylesheet, no external asset) in ``zh``, ``en`` or ``both``.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF

from atmp.core.card.facts import card_facts
from atmp.core.explain.words import fact_text, field_text
from atmp.core.explain.words import render as in_words
from atmp.core.rules import layout
from atmp.core.rules.layout import SINGLE_FIELDS
from atmp.core.rules.ontology import OntologyModel, load_model
from atmp.core.rules.resources import words

from . import sources
from .glossary import Glossary
from .whatif import BOUNDARIES, DEFAULT_MAX_PAIRS

LANGS = ("zh", "en")
FORMATS = ("md", "html")

# The document's own words (headings and fixed phrases), data in words/report.json; everything about the product comes from the ontology.
T = words("report")
WHATIF_WORDS = words("whatif")  # the boundaries' names and how a change reads, as the what-if table says them
NEAREST_SHOWN = 10  # the head of the what-if ranking, as the workbench shows it before "more"
RESULT_FIELDS = SINGLE_FIELDS  # the conclusions table, in the result layout's order


def card_digest(card: dict) -> str:
    """SHA-256 of the card's canonical JSON (keys sorted, no spaces, UTF-8): the same card, the same digest."""
    return hashlib.sha256(json.dumps(card, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


def rule_version(model: OntologyModel) -> dict[str, str]:
    """The ontology's owl:versionIRI and owl:versionInfo, read from the loaded rules."""
    out = {"iri": model.version_iri, "info": ""}
    for ont in model.graph.subjects(RDF.type, OWL.Ontology):
        info = model.graph.value(ont, OWL.versionInfo)
        if info is not None:
            out["info"] = str(info)
    return out


@dataclass
class ReportData:
    """What one report shows, gathered once and rendered in any language and format."""

    card: dict
    result: dict
    brief: dict
    nearest: list[dict]
    digest: str
    version: dict[str, str]
    extra: dict = field(default_factory=dict)


def gather(
    cards: list[dict], model: OntologyModel | None = None, whatif_pairs: int = DEFAULT_MAX_PAIRS, with_precedents: bool = True, catalogue: Path | None = None
) -> list[ReportData]:
    """Classify ``cards`` (full and brief explanations), run the what-if analysis of each and find its precedents
    (in ``catalogue``, by default the shipped one)."""
    from atmp.analysis.similar import similar
    from atmp.analysis.whatif import nearest, whatif
    from atmp.core.classify import classify_cards

    model = model or load_model()
    results = classify_cards(cards, model=model, explain="none")
    briefs = classify_cards(cards, model=model, explain="brief")
    version = rule_version(model)
    out = []
    for card, result, brief in zip(cards, results, briefs, strict=True):
        report = whatif(card, model=model, max_pairs=whatif_pairs)
        near = [e for e in report["ranked"] if e["conforms"]][:NEAREST_SHOWN]  # the workbench's ranking and its first ten
        precedents = similar(card, model=model, catalogue=catalogue) if with_precedents else None
        out.append(ReportData(card, result, brief, near, card_digest(card), version, {"nearest": nearest(report), "similar": precedents}))
    return out


# ---------------------------------------------------------------------------------------------- document
# A report is a list of blocks: ("h1"|"h2"|"p", text) | ("table", headers, rows) | ("ul", items) | ("dl", [(anchor, term,
# text)]); Markdown and HTML are two renderings of the same blocks, so they never say different things. A piece of text is
# a str, a Cited source, or a Line of both; in HTML a cited contract decision links to its text in the appendix.


@dataclass(frozen=True)
class Cited:
    """A source literal as it reads in the report's language (:func:`atmp.analysis.sources.segments`)."""

    segments: tuple[tuple[str, str, str | None], ...]  # (separator, words, anchor of the decision it names, if any)

    def __str__(self) -> str:
        return "".join(sep + words for sep, words, _ in self.segments)


@dataclass(frozen=True)
class Line:
    """Text made of plain parts and citations."""

    parts: tuple[Any, ...]

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)


class Writer:
    """What one report says in one language, and every source literal it cited (for the appendix)."""

    def __init__(self, g: Glossary, lang: str):
        self.g, self.model, self.lang = g, g.model, lang
        self.cited: list[str] = []

    def cite(self, literal: str | None) -> Cited:
        if literal:
            self.cited.append(literal)
        return Cited(tuple((s["sep"], s["text"], s["decisions"][0] if s["decisions"] else None) for s in sources.segments(self.model, literal, self.lang)))

    def said(self, text: str, *, source: str | None = None) -> Line:
        """``text (source)`` as the language writes it."""
        if not source:
            return Line((text,))
        return Line((text, "（" if self.lang == "zh" else " (", self.cite(source), "）" if self.lang == "zh" else ")"))

    def sentence(self, text: str) -> str:
        """A sentence that quotes sources verbatim (an explanation's text) with each written in this language."""
        return sources.localise(self.model, text, self.lang)


def entry_text(w: Writer, entry: dict) -> str:
    """One explanation entry as the report's reasons write it: the one place the report reads an entry.

    The entry is data (conclusion, rule, the facts that satisfy it); :func:`atmp.core.explain.words.render` turns it
    into a sentence, and the sources it quotes are written in this language. Every source the entry rests on, its
    reasons' included, counts for the appendix.
    """
    words = in_words(w.model, entry)["text"]

    def sources_of(item: object) -> None:
        if isinstance(item, dict):
            if item.get("source"):
                w.cited.append(item["source"])
            for value in item.values():
                if isinstance(value, list):
                    sources_of(value)
        elif isinstance(item, list):
            for x in item:
                sources_of(x)

    sources_of(entry)
    return w.sentence(words.get(w.lang) or words.get("en") or "")


def _description(w: Writer, card: dict) -> list[list]:
    """The card in words, in the form's order (the card schema's sections and fields), defaults marked."""
    from atmp.core.rules.resources import CARD_SCHEMA, schema

    model, lang = w.model, w.lang
    facts = card_facts(model, card)
    props = {p.field: p for p in model.properties}
    rows = []
    for section, sschema in schema(CARD_SCHEMA)["properties"].items():
        for key, fschema in (sschema.get("properties") or {}).items() if sschema.get("type") == "object" else ():
            path = f"{section}.{key}"
            stated = card.get(section, {}).get(key) if isinstance(card.get(section), dict) else None
            prop = props.get(path)
            if prop is None:
                if isinstance(stated, dict) and fschema.get("type") == "object" and path in FREE_TEXT:
                    text = stated.get(lang) or next(iter(stated.values()), "")
                    if text:
                        rows.append([T[FREE_TEXT[path]][lang], text])
                continue
            values = facts.values.get(prop.iri, ())
            if stated is None and not values:
                continue
            text = fact_text(model, prop, values)[lang].split("：" if lang == "zh" else ": ", 1)[-1]
            rows.append([field_text(model, prop)[lang], text + ("" if stated is not None else T["default_note"][lang])])
    return rows


#: card fields of free text that no rule reads, and the report's words for them
FREE_TEXT = {"function.indication": "indication"}


def _blocks(data: ReportData, lang: str, g: Glossary) -> list[tuple]:
    w = Writer(g, lang)
    card, result = data.card, data.result
    name = (card.get("label") or {}).get(lang) or (card.get("label") or {}).get("en") or card["id"]
    b: list[tuple] = [("h1", f"{T['title'][lang]}：{name}" if lang == "zh" else f"{T['title'][lang]}: {name}")]
    b.append(
        (
            "table",
            [T["trace"][lang], ""],
            [
                [T["product_id"][lang], card["id"]],
                [T["rules"][lang], f"{data.version['iri']} ({data.version['info']})"],
                [T["card_digest"][lang], data.digest],
            ],
        )
    )
    # 1. description in words
    b += [("h2", T["description"][lang]), ("table", [T["characteristic"][lang], T["value"][lang]], _description(w, card))]
    # 2. conclusions
    atmp_entry = next((e for e in data.brief["explanation"] if e.get("field") == "atmp"), None)  # the rule that decides it, as every level cites it
    rows = [[T["atmp"][lang], T["yes" if result["atmp"] else "no"][lang], w.cite(atmp_entry["source"]) if atmp_entry else ""]]
    values = {f: layout.get(result, f) for f in SINGLE_FIELDS}
    for f in RESULT_FIELDS:
        if values[f] is None and f == "exclusion":
            continue
        rc = g.result(f, values[f])
        rows.append([T[f][lang], rc.label.get(lang, "") if rc else T["none"][lang], w.cite(rc.source) if rc else ""])
    for n in result["tianjin"]["criteria"]:
        rc = g.criterion(n)
        if rc is not None:
            rows.append([T["tianjin.criteria"][lang], rc.label.get(lang, ""), w.cite(rc.source)])
    b += [("h2", T["conclusions"][lang]), ("table", [T["item"][lang], T["outcome"][lang], T["source"][lang]], rows)]
    # 3. reasons in prose
    b.append(("h2", T["reasons"][lang]))
    b.append(("ul", [entry_text(w, e) for e in data.brief["explanation"]]))
    # 4. borderline
    b.append(("h2", T["borderline"][lang]))
    items = []
    for entry in result["borderline"]:
        rc = g.borderline(entry["code"])
        title = rc.label.get(lang, "") if rc else T["warning"][lang]
        message = (entry.get("message") or {}).get(lang, "")
        items.append(w.said(f"{title}：{message}" if lang == "zh" else f"{title}: {message}", source=entry.get("source") or (rc.source if rc else "")))
    b.append(("ul", items) if items else ("p", T["no_borderline"][lang]))
    # 5. nearest boundaries: the head of the what-if ranking (atmp.analysis.whatif.ranked), as the workbench shows it
    b.append(("h2", T["boundaries"][lang]))
    rows = []
    for e in data.nearest:
        change = ("；" if lang == "zh" else "; ").join(_change_text(g, c, lang) for c in e["changes"])
        moves = []
        for x in e["crosses"]:
            field_name = BOUNDARIES[x["boundary"]]
            old = g.result_label(field_name, x["from"], lang) if x["from"] is not None else T["none"][lang]
            new = g.result_label(field_name, x["to"], lang) if x["to"] is not None else T["none"][lang]
            arrow = f"{WHATIF_WORDS['boundary_' + x['boundary']][lang]}{'：' if lang == 'zh' else ': '}{old} → {new}"
            rule = x.get("rule") or {}
            moves.append(w.said(arrow, source=rule.get("source")))
        rows.append([change, Line(tuple(p for i, m in enumerate(moves) for p in ((("；" if lang == "zh" else "; "),) if i else ()) + (m,)))])
    if rows:
        b += [("p", T["boundaries_note"][lang]), ("table", [T["change"][lang], T["moves"][lang]], rows)]
    else:
        b.append(("p", T["no_boundaries"][lang]))
    # 6. SHACL
    b.append(("h2", T["shacl"][lang]))
    items = []
    for v in result["violations"]:
        msg = (v.get("message") or {}).get(lang, "")
        items.append(w.said(f"{T['violation'][lang]}：{msg}" if lang == "zh" else f"{T['violation'][lang]}: {msg}", source=v.get("source")))
    b.append(("ul", items) if items else ("p", T["conforms"][lang]))
    # 7. the other regimes (present when the result carries them: --regimes)
    b += _regimes(w, result)
    # 8. precedents: the nearest real products, their decisions, the differences, red flags
    if data.extra.get("similar"):
        b += _precedents(w, data.extra["similar"])
    # appendix: the contract decisions cited anywhere above, with their text; the documents cited, by title
    b += _appendix(w)
    return b


def _precedents(w: Writer, report: dict) -> list[tuple]:
    """Section 8: ``atmp similar`` as a committee reads it (the words are the analysis's own, in this language)."""
    lang = w.lang
    rows = []
    for p in report["precedents"]:
        decisions = "; ".join(d["text"][lang] for d in p["decisions"]) or "—"
        labels = report["field_labels"]
        diffs = "; ".join(d["text"][lang] + (f" → {', '.join(labels.get(m, {}).get(lang, m) for m in d['moves'])}" if d["moves"] else "") for d in p["differences"])
        rows.append([f"{p['rank']}. {p['label'][lang]}", decisions, diffs or "—"])
    out: list[tuple] = [("h2", T["precedents"][lang]), ("p", T["precedents_note"][lang]), ("table", [T["precedent"][lang], T["decisions"][lang], T["differences"][lang]], rows)]
    out.append(("h2", T["red_flags"][lang]))
    flags = [f["text"][lang] for f in report["red_flags"]]
    out.append(("ul", flags) if flags else ("p", T["no_red_flags"][lang]))
    return out


def _appendix(w: Writer) -> list[tuple]:
    lang = w.lang
    decisions = sources.cited_decisions(w.model, w.cited)
    docs = sources.documents(w.model)
    cited_docs = [k for k in docs if any(p["document"] == k for lit in dict.fromkeys(w.cited) for p in sources.pieces(w.model, lit))]
    out: list[tuple] = [("h2", T["appendix"][lang])]
    if decisions:
        out += [
            ("p", T["appendix_note"][lang]),
            ("dl", [(d["anchor"], d["label"].get(lang, ""), w.g.code_words(sources.citations_in_words(w.model, d["text"].get(lang, ""), lang), lang)) for d in decisions]),
        ]
    # a document by the key its citations use in this language ("N 263-271"), else by its title alone ("契约决定1")
    said = [s["text"] for lit in dict.fromkeys(w.cited) for s in sources.segments(w.model, lit, lang)]
    sep = "：" if lang == "zh" else ": "
    items = [f"{k}{sep}{docs[k]['label'].get(lang, '')}" if any(x.startswith(k) for x in said) else docs[k]["label"].get(lang, "") for k in cited_docs]
    out += [("p", T["documents"][lang]), ("ul", items)]
    return out


def _regimes(w: Writer, result: dict) -> list:
    """EU/US/JP conclusions and the crosswalk, labelled by the result classes that fill each field (``atmp:resultField``)."""
    g, lang = w.g, w.lang
    fields = [rc.field for rc in g.model.result_classes]
    prefixes = {f.split(".", 1)[0] for f in fields if "." in f}
    blocks = [k for k, v in result.items() if k in prefixes and isinstance(v, dict) and k not in ("nmpa", "tianjin")]  # in the result's order
    if not blocks and not result.get("crosswalk"):
        return []
    rows, notes = [], []
    for key in blocks:
        block = result[key]
        for sub, value in block.items():
            field = f"{key}.{sub}"
            if sub in ("borderline", "explanation") or field not in fields:
                continue
            if isinstance(value, bool):
                rc = next((r for r in g.model.result_classes if r.field == field), None)
                if rc is not None:
                    rows.append([rc.label.get(lang, ""), T["yes" if value else "no"][lang], w.cite(rc.source)])
                continue
            rc = g.result(field, value)
            item = T[field][lang] if field in T else (rc.label.get(lang, "") if rc else field)
            rows.append([item, rc.label.get(lang, "") if rc else T["none"][lang], w.cite(rc.source) if rc else ""])
        for entry in block.get("borderline", []):
            notes.append(w.said((entry.get("message") or {}).get(lang, ""), source=entry.get("source", "")))
    out: list = [("h2", T["regimes"][lang]), ("table", [T["item"][lang], T["outcome"][lang], T["source"][lang]], rows)]
    if notes:
        out.append(("ul", notes))
    out.append(("p", T["disagreements"][lang]))
    items = []
    for entry in result.get("crosswalk", []):
        summary, message = (entry.get("summary") or {}).get(lang, ""), (entry.get("message") or {}).get(lang, "")
        items.append(w.said(f"{summary}：{message}" if lang == "zh" else f"{summary}: {message}", source=entry.get("source", "")))
    out.append(("ul", items) if items else ("p", T["no_disagreement"][lang]))
    return out


def _change_text(g: Glossary, change: dict, lang: str) -> str:
    fld = g.card_field(change["field"], lang)
    value = g.card_value(change["field"], change.get("value"), lang)
    return f"{fld}{'：' if lang == 'zh' else ': '}" + WHATIF_WORDS["op_" + change["op"]][lang].format(value=value)


# Text in Markdown is shown as text, as html.escape does for the HTML report: a label "<script>…", "<img onerror=…>"
# or "<svg onload=…>" must not reach a Markdown viewer as HTML (Markdown passes raw HTML through), nor "[x](javascript:…)"
# as a link. Entities for the HTML characters (a viewer shows them as the characters), a backslash before the link
# and code characters, "\|" so a cell stays one cell, and a space for a line break (a new line could start a heading).
_MD_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "\\\\", "`": "\\`", "[": "\\[", "]": "\\]", "|": "\\|", "\n": " ", "\r": " "})


def md_text(text: Any) -> str:
    """``text`` for a Markdown document: shown as written by any viewer, never read as HTML, a link or a table edge."""
    return str(text).translate(_MD_ESCAPES)


_md_cell = md_text


def _markdown(blocks: list[tuple]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out += [f"# {md_text(block[1])}", ""]
        elif kind == "h2":
            out += [f"## {md_text(block[1])}", ""]
        elif kind == "p":
            out += [md_text(block[1]), ""]
        elif kind == "ul":
            out += [f"- {_md_cell(i)}" for i in block[1]] + [""]
        elif kind == "dl":
            for _anchor, term, text in block[1]:
                out += [f"**{_md_cell(term)}**", "", _md_cell(text), ""]
        else:
            headers, rows = block[1], block[2]
            out.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
            out.append("|" + "---|" * len(headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("")
    return "\n".join(out)


CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.5}
h1{font-size:1.5rem;border-bottom:2px solid #333;padding-bottom:.3rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #bbb}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #999;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}code{font-size:.85em}section.lang{page-break-after:always}nav a{margin-right:1rem}
dt{font-weight:600;margin-top:.6rem}dd{margin:.2rem 0 .4rem 1.2rem}a{color:inherit}
@media print{body{margin:0;max-width:none;font-size:10.5pt}h2{page-break-after:avoid}tr,li{page-break-inside:avoid}a{color:#000;text-decoration:none}}
"""


def _html(text: Any, anchors: set[str]) -> str:
    """A piece of text as HTML: a cited contract decision links to its text in the appendix (``anchors``)."""
    e = html.escape
    if isinstance(text, Line):
        return "".join(_html(p, anchors) for p in text.parts)
    if isinstance(text, Cited):
        return "".join(e(sep) + (f'<a href="#{e(a)}">{e(words)}</a>' if a in anchors else e(words)) for sep, words, a in text.segments)
    return e(str(text))


def _html_blocks(blocks: list[tuple]) -> str:
    e = html.escape
    anchors = {a for block in blocks if block[0] == "dl" for a, _, _ in block[1]}
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "p"):
            out.append(f"<{kind}>{_html(block[1], anchors)}</{kind}>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_html(i, anchors)}</li>" for i in block[1]) + "</ul>")
        elif kind == "dl":
            out.append("<dl>" + "".join(f'<dt id="{e(a)}">{e(term)}</dt><dd>{e(text)}</dd>' for a, term, text in block[1]) + "</dl>")
        else:
            head = "".join(f"<th>{_html(h, anchors)}</th>" for h in block[1])
            body = "".join("<tr>" + "".join(f"<td>{_html(c, anchors)}</td>" for c in row) + "</tr>" for row in block[2])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(out)


# The report needs its inline stylesheet and nothing else: no script at all, no request to any host (itself included).
# In the page (so a saved file opened from disk is held to it too) and, over HTTP, as the response header.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def html_page(title: str, body: str, lang: str) -> str:
    """One self-contained page: inline CSS (screen and print), no script, no external asset; a CSP that allows exactly that."""
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _langs(lang: str) -> tuple[str, ...]:
    if lang == "both":
        return LANGS
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected zh, en or both")
    return (lang,)


def render(data: ReportData, lang: str = "both", fmt: str = "md", model: OntologyModel | None = None) -> str:
    """One product's report in ``zh``, ``en`` or ``both`` (Chinese first), as ``md`` or ``html``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; expected md or html")
    g = Glossary(model or load_model())
    parts = [(lg, _blocks(data, lg, g)) for lg in _langs(lang)]
    if fmt == "md":
        return "\n\n---\n\n".join(_markdown(b) for _, b in parts)
    body = "\n".join(f'<section class="lang" lang="{"zh-CN" if lg == "zh" else "en"}">{_html_blocks(b)}</section>' for lg, b in parts)
    return html_page(parts[0][1][0][1], body, parts[0][0])


def index(datas: list[ReportData], files: list[str], lang: str, fmt: str, model: OntologyModel | None = None) -> str:
    """The batch's index: one line per product (name, class, tier) linking to its report file."""
    g = Glossary(model or load_model())
    lg = _langs(lang)[0]
    rows = []
    for data, name in zip(datas, files, strict=True):
        r = data.result
        label = (data.card.get("label") or {}).get(lg) or data.card["id"]
        outcome = g.result_label("nmpa.subclass", r["nmpa"]["subclass"], lg) if r["atmp"] else g.result_label("exclusion", r["exclusion"], lg)
        tier = g.result_label("tianjin.risk_tier", r["tianjin"]["risk_tier"], lg) if r["tianjin"]["risk_tier"] else T["none"][lg]
        rows.append((label, name, outcome, tier))
    if fmt == "md":
        lines = [f"# {md_text(T['index'][lg])}", "", "| " + " | ".join(md_text(T[k][lg]) for k in ("product_id", "nmpa.subclass", "tianjin.risk_tier")) + " |", "|---|---|---|"]
        lines += [f"| [{_md_cell(label)}]({name}) | {_md_cell(o)} | {_md_cell(t)} |" for label, name, o, t in rows]
        return "\n".join(lines) + "\n"
    e = html.escape
    body = "".join(f'<tr><td><a href="{e(name)}">{e(label)}</a></td><td>{e(o)}</td><td>{e(t)}</td></tr>' for label, name, o, t in rows)
    head = "".join(f"<th>{e(T[k][lg])}</th>" for k in ("product_id", "nmpa.subclass", "tianjin.risk_tier"))
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return html_page(T["index"][lg], f"<h1>{e(T['index'][lg])}</h1>\n{table}", lg)
