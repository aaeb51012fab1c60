"""The taxonomy as data for people: result classes as trees under their named superclasses, and the risk criteria.

Pure functions over the :class:`~atmp.core.ontology.OntologyModel`, read from the ontology's annotations
(``atmp:resultField``, ``atmp:resultCode``, ``atmp:criterionNumber``, labels, definitions, sources), so the
HTTP service (``/classes``, ``/criteria``), the CLI and notebooks show the same taxonomy.
"""

from __future__ import annotations

from rdflib import RDFS, URIRef

from atmp.core.ontology import ATMP, OntologyModel, ResultClass
from atmp.core.resources import RESULT_SCHEMA, schema

# the result fields shown as trees (criteria are listed by /criteria; borderline situations are not a taxonomy)
TREE_FIELDS = ("atmp", "exclusion", "nmpa.class", "nmpa.subclass", "tianjin.category", "tianjin.subcategory", "tianjin.risk_tier")
# fields whose codes are ranked in the order the result schema lists them (tiers: high before medium before low)
RANKED_FIELDS = ("tianjin.risk_tier",)


def text(texts: dict[str, str], lang: str) -> str:
    """The text in ``lang``, else English, else any."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def node(model: OntologyModel, iri: URIRef, lang: str, rc: ResultClass | None = None) -> dict:
    return {
        "iri": str(iri),
        "name": str(iri).rsplit("/", 1)[-1].rsplit("#", 1)[-1],
        "field": rc.field if rc else None,
        "code": rc.code if rc else None,
        "label": text(model.label(iri), lang),
        "definition": text(model.definition(iri), lang),
        "source": model.source(iri),
    }


def named_parent(model: OntologyModel, iri: URIRef) -> URIRef | None:
    parents = sorted(p for p in model.graph.objects(iri, RDFS.subClassOf) if isinstance(p, URIRef) and p != ATMP.Product)
    return parents[0] if parents else None


def _schema_enum(field: str) -> list:
    """The ``enum`` of a dotted result field in result.schema.json (empty when it has none)."""
    node_: dict = schema(RESULT_SCHEMA)
    for part in field.split("."):
        node_ = node_.get("properties", {}).get(part, {})
    return [v for v in node_.get("enum", []) if v is not None]


def code_ranks() -> dict[str, int]:
    return {code: i for f in RANKED_FIELDS for i, code in enumerate(_schema_enum(f))}


def classes(model: OntologyModel, lang: str) -> list[dict]:
    """The result classes as trees under their named superclasses (NMPA scope and classes, exclusions,
    Tianjin categories, subcategories and tiers), read from the ontology's annotations."""
    result_classes = {rc.iri: rc for rc in model.result_classes if rc.field in TREE_FIELDS}
    nodes: dict[URIRef, dict] = {}
    parent_of: dict[URIRef, URIRef | None] = {}
    todo = list(result_classes)
    while todo:
        iri = todo.pop()
        if iri in nodes:
            continue
        nodes[iri] = {**node(model, iri, lang, result_classes.get(iri)), "children": []}
        parent = named_parent(model, iri)
        parent_of[iri] = parent
        if parent is not None and parent not in nodes:
            todo.append(parent)
    field_rank = {f: i for i, f in enumerate(TREE_FIELDS)}
    ranks = code_ranks()

    def rank(n: dict) -> tuple:
        fld = n["field"] or min((c["field"] or "" for c in n["children"]), key=lambda f: field_rank.get(f, 99), default="")
        return (field_rank.get(fld, 99), ranks.get(n["code"], 9), n["code"] or "", n["name"])

    roots = []
    for iri, n in nodes.items():
        parent = parent_of[iri]
        (nodes[parent]["children"] if parent in nodes else roots).append(n)
    for n in nodes.values():
        n["children"].sort(key=rank)
    roots.sort(key=rank)
    return roots


def criteria(model: OntologyModel, lang: str) -> list[dict]:
    """The Tianjin risk criteria in number order, each with its group (the named superclass)."""
    out = []
    for rc in model.result_classes:
        if rc.field != "tianjin.criteria" or rc.number is None:
            continue
        group = named_parent(model, rc.iri)
        out.append(
            {
                "number": rc.number,
                **{k: v for k, v in node(model, rc.iri, lang, rc).items() if k not in ("field", "code")},
                "group": None if group is None else {"iri": str(group), "name": str(group).rsplit("/", 1)[-1], "label": text(model.label(group), lang)},
            }
        )
    out.sort(key=lambda c: c["number"])
    return out
