"""What the workbench pages show, read from the rule files: the card form, the rule book, the catalogue's filters.

Nothing here is typed in per field or per rule. The form is the card schema (``product-card.schema.json``: sections,
fields, codes in schema order, required parts, list limits) dressed with the ontology (``rdfs:label`` and
``skos:definition`` of each card property and each vocabulary individual, ``atmp:valueWhenAbsent`` defaults,
``dcterms:source``). Which fields are *conditional* comes from the SHACL Violation shapes: a shape whose forbidden
combination is "these values hold and field F is absent (or its no-value code)" says F is needed exactly when those
values hold, so the form shows F then (and keeps it one click away otherwise). The rule book groups the ontology
classes by the document passages their ``dcterms:source`` cites, ordered by the passage numbers, with the catalogue
products whose result each class concludes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from atmp.core.rules import resources
from atmp.core.rules.ontology import ATMP, DCT, OntologyModel
from atmp.kg.catalogue import vocabulary_labels

CARD_SECTIONS_SKIP = ("id", "label")  # the card's identity, rendered as text inputs rather than from the vocabulary
STATIC = Path(str(files("atmp.http") / "static"))


@lru_cache(maxsize=1)
def page_words() -> dict[str, dict[str, str]]:
    """The pages' own words (``static/i18n.json``: headings, buttons, and the names of the card fields no rule
    reads, which therefore have no ontology property to take a label from: the id, the name, the indication)."""
    return json.loads((STATIC / "i18n.json").read_text(encoding="utf-8"))


def _words(key: str) -> dict[str, str]:
    return {lang: texts[key] for lang, texts in page_words().items() if texts.get(key)}


def _text_field(name: str, fschema: dict, required: bool) -> dict:
    return {
        "path": name,
        "kind": "text",
        "required": required,
        "pattern": fschema.get("pattern"),
        "max_length": fschema.get("maxLength"),
        "name": _words("field_" + name) or {"en": name, "zh": name},
        "help": _words("help_" + name),
    }


def _field_name(model: OntologyModel, path: str) -> dict[str, str]:
    """A card field in words, as the report writes it (the property's label; "has X" reads "X")."""
    from atmp.analysis.glossary import Glossary

    g = model.memo.get("workbench_glossary")
    if g is None:
        g = model.memo["workbench_glossary"] = Glossary(model)
    return {lang: g.card_field(path, lang) for lang in ("en", "zh")}


def form_spec(model: OntologyModel) -> dict:
    """The card form: identity fields, then per card section its fields with labels, help, codes and defaults."""
    found = model.memo.get("workbench_form")
    if found is None:
        found = model.memo["workbench_form"] = _form_spec(model)
    return found


def _form_spec(model: OntologyModel) -> dict:
    schema = resources.schema(resources.CARD_SCHEMA)
    props = {p.field: p for p in model.properties}
    conditions = field_conditions(model)
    identity = [_text_field("id", schema["properties"]["id"], "id" in schema.get("required", ()))]
    label_schema = schema["properties"].get("label", {})
    for lang, lschema in label_schema.get("properties", {}).items():
        identity.append(_text_field(f"label.{lang}", lschema, False))
    sections = []
    for section, sschema in schema["properties"].items():
        if section in CARD_SECTIONS_SKIP or sschema.get("type") != "object" or not sschema.get("properties"):
            continue  # an object with no declared fields (the catalogue's provenance) is not part of describing a product
        required = set(sschema.get("required", ()))
        fields = []
        for key, fschema in sschema.get("properties", {}).items():
            path = f"{section}.{key}"
            prop = props.get(path)
            if prop is None and fschema.get("type") == "object":
                # free text per language that no rule reads (function.indication): named by the page's words
                langs = list(fschema.get("properties", {}))
                fields.append(
                    {
                        "path": path,
                        "section": section,
                        "key": key,
                        "kind": "texts",
                        "langs": langs,
                        "required": key in required,
                        "max_length": max((s.get("maxLength") or 0 for s in fschema.get("properties", {}).values()), default=None) or None,
                        "name": _words("field_" + path) or {"en": key, "zh": key},
                        "help": _words("help_" + path),
                        "conditions": [],
                        "default": None,
                    }
                )
                continue
            entry: dict[str, Any] = {
                "path": path,
                "section": section,
                "key": key,
                "required": key in required,
                "label": model.label(prop.iri) if prop else {"en": key, "zh": key},
                "name": _field_name(model, path) if prop else {"en": key, "zh": key},
                "definition": model.definition(prop.iri) if prop else {},
                "source": model.source(prop.iri) if prop else "",
                "conditions": [
                    [{**c, "field_label": _field_name(model, c["path"]), "value_label": _code_label(model, props, c)} for c in cond] for cond in conditions.get(path, [])
                ],
            }
            if "enum" in fschema or "enum" in fschema.get("items", {}):
                enum = fschema.get("enum") or fschema["items"]["enum"]
                entry["kind"] = "list" if fschema.get("type") == "array" else "code"
                entry["nullable"] = None in enum
                entry["min_items"] = fschema.get("minItems", 0)
                entry["max_items"] = fschema.get("maxItems")
                entry["options"] = [_option(model, prop, code) for code in enum if code is not None]
            elif fschema.get("type") == "boolean":
                entry["kind"] = "bool"
            else:
                entry["kind"] = "text"
            default = None if prop is None else prop.default
            if isinstance(default, URIRef):
                default = model.code_of.get(default)
            entry["default"] = default
            fields.append(entry)
        sections.append({"name": section, "fields": fields})
    return {"ontology": model.version_iri, "identity": identity, "sections": sections}


def _code_label(model: OntologyModel, props: dict, condition: dict) -> dict[str, str]:
    prop = props.get(condition["path"])
    iri = prop.codes.get(condition["code"]) if prop else None
    return model.label(iri) if iri is not None else {"en": condition["code"], "zh": condition["code"]}


def _option(model: OntologyModel, prop, code: str) -> dict:
    iri = prop.codes.get(code) if prop else None
    if iri is None:
        return {"code": code, "label": {"en": code, "zh": code}, "definition": {}, "source": ""}
    return {"code": code, "label": model.label(iri), "definition": model.definition(iri), "source": model.source(iri)}


def _shapes_graph() -> Graph:
    from atmp.core.result.validate import load_shapes

    return load_shapes()


def field_conditions(model: OntologyModel) -> dict[str, list[list[dict]]]:
    """Per card field, the value combinations under which a Violation shape requires it (any one suffices).

    A shape ``sh:not [ sh:and ( [path P1; hasValue V1] … [path PF; maxCount 0 | sh:in (the no-value code)] ) ]``
    with ``atmp:cardPath`` F reads "when P1 = V1 … hold, F must be given": the hasValue clauses are the condition.
    """
    return _field_conditions(model, _shapes_graph())


@lru_cache(maxsize=4)
def _field_conditions(model: OntologyModel, shapes: Graph) -> dict[str, list[list[dict]]]:
    by_iri = {p.iri: p for p in model.properties}
    out: dict[str, list[list[dict]]] = {}
    for shape in shapes.subjects(SH.severity, SH.Violation):
        card_path = shapes.value(shape, ATMP.cardPath)
        negated = shapes.value(shape, SH["not"])
        if card_path is None or negated is None or shapes.value(negated, SH["and"]) is None:
            continue
        target = next((p for p in model.properties if p.field == str(card_path)), None)
        if target is None:
            continue
        condition: list[dict] = []
        requires = False
        for clause in Collection(shapes, shapes.value(negated, SH["and"])):
            prop = by_iri.get(shapes.value(clause, SH.path))
            if prop is None:
                condition = []
                break
            value = shapes.value(clause, SH.hasValue)
            if prop.field == target.field:
                max_count = shapes.value(clause, SH.maxCount)
                in_list = shapes.value(clause, SH["in"])
                members = list(Collection(shapes, in_list)) if in_list is not None else []
                if (isinstance(max_count, Literal) and int(max_count) == 0) or (members and all(m == target.default for m in members)):
                    requires = True
                continue
            if value is not None and len(set(shapes.predicate_objects(clause))) == 2:
                condition.append({"path": prop.field, "code": model.code_of.get(value, str(value))})
        if requires and condition:
            out.setdefault(target.field, []).append(condition)
    return out


# ============================================================================================ the rule book
def rule_book(model: OntologyModel, products: dict[str, dict], lang: str) -> list[dict]:
    """The documents the rules cite, in reading order, each with its title and its passages in order; each passage
    (one cited piece: a line range of N, an item of T, a contract decision, an article of a foreign instrument)
    with the classes citing it and, for a contract decision, its text. Read from the ``atmp:citation``
    resources (:mod:`atmp.analysis.sources`): grouping and titles come from the cited ``atmp:SourceDocument``s;
    pieces that cite no document (project conventions, guidance notes) are gathered under "other sources"."""
    from atmp.analysis import sources

    decided: dict[str, list[str]] = {}
    for card_id, entry in products.items():
        for line in entry["result"].get("explanation", []):
            decided.setdefault(line["rule"], [])
            if card_id not in decided[line["rule"]]:
                decided[line["rule"]].append(card_id)
    from atmp.analysis.glossary import Glossary

    docs = sources.documents(model)
    g = Glossary(model)
    # a decision's text quotes card codes in backticks: the book writes them as their labels
    by_decision = {d["name"]: {**d, "words": {lg: g.code_words(sources.citations_in_words(model, x, lg), lg) for lg, x in d["text"].items()}} for d in sources.decisions(model)}
    passages: dict[str | None, dict[str, dict]] = {}
    graph = model.graph
    for cls in sorted(set(graph.subjects(RDF.type, OWL.Class))):
        if not isinstance(cls, URIRef) or (cls, DCT.source, None) not in graph:
            continue
        name = str(cls).rsplit("/", 1)[-1]
        source = model.source(cls)
        entry = {"name": name, "iri": str(cls), "label": model.label(cls), "definition": model.definition(cls), "source": source, "products": decided.get(name, [])}
        for piece in sources.pieces(model, source):
            doc = piece["document"] if piece["document"] in docs else None
            anchor = piece["anchor"] or source
            passage = passages.setdefault(doc, {}).setdefault(
                anchor,
                {"anchor": anchor, "label": piece["label"], "order": piece["order"], "classes": [], "decisions": [by_decision[n] for n in piece["decisions"] if n in by_decision]},
            )
            if entry not in passage["classes"]:
                passage["classes"].append(entry)
    out = []
    for key in [*(k for k in docs if k in passages), None]:
        if key not in passages:
            continue
        doc = docs.get(key)
        ordered = sorted(passages[key].values(), key=lambda p: p["order"])
        for p in ordered:
            p["classes"].sort(key=lambda e: e["label"].get(lang, e["name"]))
        out.append(
            {
                "document": key or "other",
                "anchor": doc["anchor"] if doc else "doc-other",
                "title": doc["label"] if doc else None,
                "definition": doc["definition"] if doc else {},
                "url": doc["url"] if doc else None,
                "decisions": [d for d in by_decision.values()] if any(p["decisions"] for p in ordered) else [],
                "passages": ordered,
            }
        )
    return out


def page_citations(model: OntologyModel, lang: str) -> dict[str, Any]:
    """Every source literal the pages may show (ontology and shapes), as the page's script writes it:
    ``{"titles": [hover text, ...], "literals": {literal: [[separator, words, anchor in /rules, title index], ...]}}`` in the
    page's language, decisions named by their labels (titles are shared: most pieces cite one of a few documents)."""
    from atmp.analysis import sources

    memo = model.memo.setdefault("workbench_citations", {})
    if lang in memo:
        return memo[lang]
    titles: dict[str, int] = {}
    literals = {}
    for literal in sorted(sources.all_literals(model, _shapes_graph())):
        literals[literal] = [
            [s["sep"], s["text"], _href(model, s)[len("/rules#") :], titles.setdefault(s["title"], len(titles))] for s in sources.segments(model, literal, lang, named=True)
        ]
    memo[lang] = {"titles": list(titles), "literals": literals}
    return memo[lang]


def _href(model: OntologyModel, segment: dict) -> str:
    """Where a cited piece is explained: its decision's text; its passage in the rule book, when a rule cites it
    (the book lists the classes); else the section of its document; a source that is no document has no link."""
    from atmp.analysis import sources

    if segment["decisions"]:
        return "/rules#" + segment["decisions"][0]
    if segment["anchor"] and segment["anchor"] in _book_anchors(model):
        return "/rules#" + segment["anchor"]
    docs = sources.documents(model)
    if segment["document"] in docs:
        return "/rules#" + docs[segment["document"]]["anchor"]
    return ""


def _book_anchors(model: OntologyModel) -> frozenset[str]:
    """The passages the rule book shows: the pieces cited by the ontology's classes (see :func:`rule_book`)."""
    from atmp.analysis import sources

    found = model.memo.get("workbench_book_anchors")
    if found is None:
        graph = model.graph
        found = frozenset(
            p["anchor"] or model.source(c)
            for c in set(graph.subjects(RDF.type, OWL.Class))
            if isinstance(c, URIRef) and (c, DCT.source, None) in graph
            for p in sources.pieces(model, model.source(c))
        )
        model.memo["workbench_book_anchors"] = found
    return found


def cite_html(model: OntologyModel, literal: str | None, lang: str, local: bool = False) -> str:
    """A source literal as HTML for a page: each piece in words, linked to its text in the rule book (``local``: on
    the rule book itself, a link within the page and no hover text, which the page already shows)."""
    from html import escape

    from atmp.analysis import sources

    parts = []
    for s in sources.segments(model, literal, lang, named=True):
        href = _href(model, s)
        if local and href:
            href = href[len("/rules") :]
        inner = escape(s["text"])
        title = "" if local else f' title="{escape(s["title"])}"'
        link = f'<a class="cite" href="{escape(href)}"{title}>{inner}</a>' if href else inner
        parts.append(escape(s["sep"]) + link)
    return f'<span class="src">{"".join(parts)}</span>' if parts else ""


def catalogue_filters(summaries: list[dict], model: OntologyModel, lang: str) -> dict[str, list[dict]]:
    """The values the catalogue table can be filtered by, as they occur in the classified catalogue, with labels."""
    labels = {(rc.field, rc.code): rc.label for rc in model.result_classes if rc.code}
    for kind, codes in vocabulary_labels().items():
        labels.update({(kind, code): label for code, label in codes.items()})

    def option(fld: str, code: Any) -> dict:
        text = labels.get((fld, code), {}).get(lang) if code is not None else None
        return {"code": "none" if code is None else str(code), "label": text or ("—" if code is None else str(code))}

    spec = {
        "nmpa.class": lambda s: [s["nmpa"]["class"]],
        "nmpa.subclass": lambda s: [s["nmpa"]["subclass"]],
        "tianjin.risk_tier": lambda s: [s["tianjin"]["risk_tier"]],
        "borderline": lambda s: s["borderline"],
        "agency": lambda s: [(s.get("provenance") or {}).get("agency")],
        "status": lambda s: [(s.get("provenance") or {}).get("status")],
    }
    out = {}
    for fld, get in spec.items():
        seen: dict[str, dict] = {}
        for s in summaries:
            for code in get(s) or []:
                o = option(fld, code)
                seen.setdefault(o["code"], o)
        out[fld] = sorted(seen.values(), key=lambda o: o["label"])
    return out


def provenance_decisions(model: OntologyModel, provenance: dict, result: dict) -> list[dict]:
    """A catalogue card's published agency decisions (``provenance.decisions``) in words, each beside what the rules
    answer for the same result field: the question (the field's name), the agency's answer and ours as labels, the
    agency, the certainty, the source and any known limit. Labels come from the result classes that fill each field
    and from the catalogue vocabulary (agencies, certainties)."""
    from atmp.core.rules import layout

    words = page_words()
    vocab = vocabulary_labels()
    by_code = {(rc.field, rc.code): rc.label for rc in model.result_classes if rc.code is not None}
    flags = {rc.field: rc.label for rc in model.result_classes if rc.code is None and rc.number is None}

    def name(fld: str) -> dict[str, str]:
        named = {lang: texts[fld] for lang, texts in words.items() if fld in texts}
        return named or flags.get(fld) or {"en": fld, "zh": fld}

    def value(fld: str, v: Any) -> dict[str, str]:
        if isinstance(v, bool) or v is None:
            key = "yes" if v else "no" if v is False else "none"
            return {lang: texts[key] for lang, texts in words.items()}
        return by_code.get((fld, v)) or {"en": str(v), "zh": str(v)}

    out = []
    for d in provenance.get("decisions") or []:
        fld = d.get("field", "")
        ours = layout.get(result, fld)
        out.append(
            {
                "field": fld,
                "question": name(fld),
                "value": d.get("value"),
                "agency_answer": value(fld, d.get("value")),
                "our_answer": value(fld, ours),
                "agree": ours == d.get("value"),
                "agency": vocab.get("agency", {}).get(d.get("agency"), {"en": d.get("agency", ""), "zh": d.get("agency", "")}),
                "agency_code": d.get("agency"),
                "certainty": vocab.get("certainty", {}).get(d.get("certainty"), {"en": d.get("certainty", ""), "zh": d.get("certainty", "")}),
                "source": d.get("source", ""),
                "known_limit": d.get("known_limit", ""),
            }
        )
    return out


def reason_text(model: OntologyModel, item: dict, lang: str) -> str:
    """One reason of an explanation entry in words: a card fact as the field's name and the value's label (never
    the field path: that is the expert view's), anything else by the words the entry carries."""
    field_path = item.get("field")
    if field_path:
        spec = {f["path"]: f for s in form_spec(model)["sections"] for f in s["fields"]}.get(field_path)
        if spec is not None:
            name = spec["name"].get(lang) or spec["name"].get("en", field_path)
            return f"{name}{'：' if lang == 'zh' else ': '}{_value_words(spec, item.get('value'), lang)}"
    return item.get(lang) or item.get("en") or ""


def _value_words(spec: dict, value: Any, lang: str) -> str:
    words = page_words()[lang]
    if value is None:
        return words.get("not_stated", "")
    if isinstance(value, bool):
        return words["yes" if value else "no"]
    values = value if isinstance(value, list) else [value]
    labels = {o["code"]: o["label"] for o in spec.get("options", [])}
    return ("、" if lang == "zh" else ", ").join((labels.get(v) or {}).get(lang) or str(v) for v in values)
