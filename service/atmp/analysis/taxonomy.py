"""The taxonomy as data for people: result classes as trees under their named superclasses, and the risk criteria.

Pure functions over the :class:`~atmp.core.rules.ontology.OntologyModel`, read from the ontology's annotations
(``atmp:resultField``, ``atmp:resultCode``, ``atmp:criterionNumber``, ``atmp:rank``, labels, definitions, sources), so the
HTTP service (``/classes``, ``/criteria``), the CLI and notebooks show the same taxonomy.
"""

from __future__ import annotations

from rdflib import RDFS, URIRef

from atmp.core.rules.layout import SUMMARY_FIELDS
from atmp.core.rules.namespaces import local_name
from atmp.core.rules.ontology import ATMP, OntologyModel, ResultClass

# the result fields shown as trees (criteria are listed by /criteria; borderline situations are not a taxonomy)
TREE_FIELDS = SUMMARY_FIELDS


def text(texts: dict[str, str], lang: str) -> str:
    """The text in ``lang``, else English, else any."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def node(model: OntologyModel, iri: URIRef, lang: str, rc: ResultClass | None = None) -> dict:
    return {
        "iri": str(iri),
        "name": local_name(iri),
        "field": rc.field if rc else None,
        "code": rc.code if rc else None,
        "label": text(model.label(iri), lang),
        "definition": text(model.definition(iri), lang),
        "source": model.source(iri),
    }


def named_parent(model: OntologyModel, iri: URIRef) -> URIRef | None:
    parents = sorted(p for p in model.graph.objects(iri, RDFS.subClassOf) if isinstance(p, URIRef) and p != ATMP.Product)
    return parents[0] if parents else None


def code_ranks(model: OntologyModel) -> dict[str, int]:
    """The ontology's order of a field's values (``atmp:rank``: the tiers, high first), code -> position."""
    return {rc.code: rc.rank for rc in model.result_classes if rc.rank is not None and rc.code is not None}


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
    ranks = code_ranks(model)

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
