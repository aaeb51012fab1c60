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

import re
from functools import lru_cache
from typing import Any

from rdflib import OWL, RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from atmp.core.rules import resources
from atmp.core.rules.ontology import ATMP, DCT, OntologyModel

CARD_SECTIONS_SKIP = ("id", "label")  # the card's identity, rendered as text inputs rather than from the vocabulary


def _text_field(name: str, fschema: dict, required: bool) -> dict:
    return {"path": name, "kind": "text", "required": required, "pattern": fschema.get("pattern"), "max_length": fschema.get("maxLength")}


def form_spec(model: OntologyModel) -> dict:
    """The card form: identity fields, then per card section its fields with labels, help, codes and defaults."""
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
            entry: dict[str, Any] = {
                "path": path,
                "section": section,
                "key": key,
                "required": key in required,
                "label": model.label(prop.iri) if prop else {"en": key, "zh": key},
                "definition": model.definition(prop.iri) if prop else {},
                "source": model.source(prop.iri) if prop else "",
                "conditions": conditions.get(path, []),
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
_NUMERALS = "一二三四五六七八九十"
_NUMBER = re.compile(r"\d+|[" + _NUMERALS + "]+")


def _sort_key(ref: str) -> tuple:
    """Passage order: every number in the reference in turn (Chinese item numerals by their value)."""
    key = []
    for token in _NUMBER.findall(ref):
        key.append(int(token) if token.isdigit() else sum(_NUMERALS.index(ch) + 1 for ch in token))
    return (tuple(key), ref)


def _passages(source: str) -> list[tuple[str, str]]:
    """``"N 263-271, 313-315; T 6(二)9"`` -> ``[("N", "263-271"), ("N", "313-315"), ("T", "6(二)9")]``."""
    out: list[tuple[str, str]] = []
    for segment in source.split(";"):
        segment = segment.strip()
        if not segment:
            continue
        doc, _, rest = segment.partition(" ")
        if not any(ch.isdigit() for ch in rest):  # "Project convention": a document of its own, no passages
            out.append((segment, ""))
            continue
        parts = [p.strip() for p in rest.split(",") if p.strip()]
        if not parts[0][:1].isdigit():  # "Contract decisions 3, 6": one passage
            out.append((doc, rest))
            continue
        out.extend((doc, part) for part in parts)
    return out


def rule_book(model: OntologyModel, products: dict[str, dict], lang: str) -> list[dict]:
    """Documents (those cited by numbered passages first), their passages in order, each with the classes citing it."""
    decided: dict[str, list[str]] = {}
    for card_id, entry in products.items():
        for line in entry["result"].get("explanation", []):
            decided.setdefault(line["rule"], [])
            if card_id not in decided[line["rule"]]:
                decided[line["rule"]].append(card_id)
    docs: dict[str, dict[str, list[dict]]] = {}
    graph = model.graph
    for cls in sorted(set(graph.subjects(RDF.type, OWL.Class))):
        if not isinstance(cls, URIRef) or (cls, DCT.source, None) not in graph:
            continue
        name = str(cls).rsplit("/", 1)[-1]
        source = model.source(cls)
        entry = {"name": name, "iri": str(cls), "label": model.label(cls), "definition": model.definition(cls), "source": source, "products": decided.get(name, [])}
        for doc, ref in _passages(source):
            docs.setdefault(doc, {}).setdefault(ref, []).append(entry)
    numbered = [d for d in docs if any(r[:1].isdigit() for r in docs[d])]
    # the documents the ontology is about (its header's dcterms:references, by atmp:citationKey: N, T) lead;
    # the other regimes' instruments (Reg, Dir, 21 CFR, ASRM ...) follow, numbered ones first
    about = sorted(str(k) for o in graph.subjects(RDF.type, OWL.Ontology) for d in graph.objects(o, DCT.references) for k in graph.objects(d, ATMP.citationKey))
    lead = [d for d in about if d in docs]
    order = lead + sorted(d for d in numbered if d not in lead) + sorted(d for d in docs if d not in numbered and d not in lead)
    out = []
    for doc in order:
        passages = [
            {"ref": ref, "cite": f"{doc} {ref}".strip(), "classes": sorted(docs[doc][ref], key=lambda e: e["label"].get(lang, e["name"]))}
            for ref in sorted(docs[doc], key=_sort_key)
        ]
        out.append({"document": doc, "numbered": doc in numbered, "passages": passages})
    return out


@lru_cache(maxsize=1)
def vocabulary_labels() -> dict[str, dict[str, dict[str, str]]]:
    """Labels of the catalogue's provenance codes (``catalogue/kg-vocabulary.ttl``): ``{"agency"|"status": {code: {en, zh}}}``,
    keyed by the lower-cased local name of each coded individual's class."""
    from rdflib import RDFS

    from atmp.core.rules.files import read_file
    from atmp.core.rules.ontology import bilingual
    from atmp.kg.catalogue import VOCABULARY_FILE
    from atmp.kg.terms import KG_NS

    graph = Graph().parse(data=read_file(resources.catalogue_dir() / VOCABULARY_FILE, what="vocabulary"), format="turtle")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for individual, code in graph.subject_objects(URIRef(KG_NS + "code")):
        for cls in graph.objects(individual, RDF.type):
            if isinstance(cls, URIRef) and cls != OWL.NamedIndividual:
                out.setdefault(str(cls).rsplit("/", 1)[-1].lower(), {})[str(code)] = bilingual(graph, individual, RDFS.label)
    return out


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
