"""The reference that the fast path is measured against and must agree with.

* **Reasoning** — owlready2 + HermiT: ``sync_reasoner_hermit`` realising every product of the batch in
  one owlready2 World that holds the ontology plus all products with their closure axioms
  (:func:`atmp.reasoner.owlready_memberships` with ``chunk`` = the batch size: one run, as the
  reference is defined; the engine ``owlready2`` cuts batches into chunks of 4 instead). For
  per-card checks the warm in-process HermiT (:func:`hermit_memberships`) gives the same answers
  faster; the test suite holds the two to each other.
* **SHACL** — pyshacl with ``shapes/product-shapes.ttl`` over a plain graph of the cards' facts plus
  the reasoner's borderline memberships (what :mod:`atmp.core.result.validate` feeds it), built here so the
  reference does not move when the project's own SHACL path changes.

Results are compared as :func:`summary` dicts: every field that carries an answer (``atmp``,
``exclusion``, ``nmpa``, ``tianjin`` with its criteria, the borderline codes, the violation codes,
``conforms``), not the wording of messages or explanations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from atmp.core.card.facts import add_product, card_facts
from atmp.core.rules import layout
from atmp.core.rules.layout import SINGLE_FIELDS
from atmp.core.rules.ontology import ATMP, OntologyModel
from atmp.core.rules.regimes import answers_of_members, answers_of_result
from atmp.core.rules.resources import shapes_dir
from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_FILE = "product-shapes.ttl"


# ============================================================================================ reasoning
def result_iris(model: OntologyModel) -> list[URIRef]:
    return [rc.iri for rc in model.result_classes]


def owlready_batch(model: OntologyModel, cards: Sequence[dict], chunk: int | None = None) -> dict[str, set[URIRef]]:
    """owlready2 + HermiT memberships per card id; one ``sync_reasoner_hermit`` run unless ``chunk`` is given."""
    from atmp.core.engines.reasoner import owlready_memberships

    facts = [card_facts(model, card) for card in cards]
    graphs = []
    for card, f in zip(cards, facts, strict=True):
        g = Graph()
        add_product(g, model, f, card)
        graphs.append(g)
    out = owlready_memberships(model.graph, graphs, [f.iri for f in facts], result_iris(model), chunk=chunk or max(1, len(cards)))
    return {f.card_id: out[f.iri] for f in facts}


def hermit_memberships(model: OntologyModel, cards: Sequence[dict]) -> dict[str, set[URIRef]]:
    """Memberships per card id from the warm in-process HermiT (same axioms and answers, per card)."""
    from atmp.core.engines.reasoner import warm_hermit

    hermit = warm_hermit(model)
    classes = result_iris(model)
    return {card["id"]: hermit.memberships(card_facts(model, card), classes) for card in cards}


# ============================================================================================ SHACL
def shapes_file() -> Path:
    return shapes_dir() / SHAPES_FILE


def load_shapes(path: Path | None = None) -> Graph:
    graph = Graph()
    graph.parse(path or shapes_file(), format="turtle")
    return graph


def shape_codes(shapes: Graph) -> dict[str, set[str]]:
    """``{"Violation": {...}, "Warning": {...}}``: the ``atmp:resultCode`` of each shape by severity."""
    out: dict[str, set[str]] = {"Violation": set(), "Warning": set(), "Info": set()}
    for shape, code in shapes.subject_objects(ATMP.resultCode):
        severity = shapes.value(shape, SH.severity)
        if severity is not None:
            out[str(severity).rsplit("#", 1)[-1]].add(str(code))
    return out


def borderline_classes(model: OntologyModel) -> dict[URIRef, str]:
    return {rc.iri: rc.code for rc in model.result_classes if rc.field == "borderline"}


def shacl_data_graph(model: OntologyModel, cards: Sequence[dict], memberships: dict[str, Iterable[URIRef]] | None = None) -> Graph:
    """``rdf:type atmp:Product`` and one triple per card value; plus, when given, each reasoned borderline class."""
    graph = Graph()
    borderline = borderline_classes(model)
    for card in cards:
        facts = card_facts(model, card)
        graph.add((facts.iri, RDF.type, ATMP.Product))
        for prop, values in facts.values.items():
            for value in values:
                graph.add((facts.iri, prop, Literal(value, datatype=XSD.boolean) if isinstance(value, bool) else value))
        for cls in (memberships or {}).get(card["id"], ()):
            if cls in borderline:
                graph.add((facts.iri, RDF.type, cls))
                graph.add((cls, RDFS.subClassOf, ATMP.BorderlineSituation))
    return graph


def pyshacl_codes(
    model: OntologyModel,
    cards: Sequence[dict],
    memberships: dict[str, Iterable[URIRef]] | None = None,
    shapes: Graph | None = None,
) -> dict[str, dict[str, list[str]]]:
    """pyshacl over the batch in one call: per card id, sorted ``violations`` and ``warnings`` codes.

    A result of the reasoned-borderline shape takes the code of the OWL class in ``sh:value``.
    """
    from pyshacl import validate as shacl_validate

    shapes = shapes if shapes is not None else load_shapes()
    _, report, _ = shacl_validate(shacl_data_graph(model, cards, memberships), shacl_graph=shapes, inference="none", allow_warnings=True)
    if not isinstance(report, Graph):
        raise RuntimeError(f"pyshacl could not use the shapes: {getattr(report, 'message', report)}")
    borderline = borderline_classes(model)
    by_iri: dict[Any, dict[str, list[str]]] = {}
    for result in report.subjects(RDF.type, SH.ValidationResult):
        value = report.value(result, SH.value)
        code = borderline.get(value) if isinstance(value, URIRef) else None
        if code is None:
            code = str(shapes.value(report.value(result, SH.sourceShape), ATMP.resultCode) or report.value(result, SH.sourceShape))
        bucket = by_iri.setdefault(report.value(result, SH.focusNode), {"violations": [], "warnings": []})
        bucket["violations" if report.value(result, SH.resultSeverity) == SH.Violation else "warnings"].append(code)
    out = {}
    for card in cards:
        bucket = by_iri.get(card_facts(model, card).iri, {"violations": [], "warnings": []})
        out[card["id"]] = {"violations": sorted(bucket["violations"]), "warnings": sorted(bucket["warnings"])}
    return out


# ============================================================================================ comparing
def summary_from_memberships(model: OntologyModel, members: Iterable[URIRef], shacl: dict[str, list[str]]) -> dict:
    """The answers a result must give for these memberships and this SHACL report (see :func:`summary`)."""
    members = set(members)
    out: dict[str, Any] = {"atmp": False, **dict.fromkeys(SINGLE_FIELDS), "tianjin.criteria": [], "borderline": set()}
    for rc in model.result_classes:
        if rc.iri not in members:
            continue
        if rc.field == "atmp":
            out["atmp"] = True
        elif rc.field in SINGLE_FIELDS:
            out[rc.field] = rc.code
        elif rc.field == "tianjin.criteria":
            out["tianjin.criteria"].append(int(rc.number))  # type: ignore[arg-type]
        elif rc.field == "borderline":
            out["borderline"].add(rc.code)
    out["tianjin.criteria"] = sorted(out["tianjin.criteria"])
    out["borderline"] = sorted(out["borderline"] | set(shacl["warnings"]))
    out["violations"] = sorted(shacl["violations"])
    out["conforms"] = not shacl["violations"]
    out["regimes"] = answers_of_members(model, members)  # the EU/US/JP blocks and the crosswalk
    return out


def summary(result: dict) -> dict:
    """The answers of one result: everything but messages, sources and explanations."""
    return {
        **layout.summary(result),
        "tianjin.criteria": sorted(result["tianjin"]["criteria"]),
        "borderline": sorted({b["code"] for b in result["borderline"]}),
        "violations": sorted(v["code"] for v in result["violations"]),
        "conforms": result["conforms"],
        "regimes": answers_of_result(result),
    }


def compare(results: Sequence[dict], expected: dict[str, dict]) -> list[str]:
    """Differences between ``results`` and the reference ``expected`` (card id -> summary), one line each.

    Also flags a borderline code reported twice in one result.
    """
    problems = []
    for result in results:
        ref = expected.get(result["id"])
        if ref is None:
            problems.append(f"{result['id']}: no reference answer")
            continue
        got = summary(result)
        diff = {k: (got[k], ref[k]) for k in ref if got.get(k) != ref[k]}
        if diff:
            problems.append(f"{result['id']}: " + "; ".join(f"{k}: got {g!r}, reference {r!r}" for k, (g, r) in diff.items()))
        codes = [b["code"] for b in result["borderline"]]
        if len(codes) != len(set(codes)):
            problems.append(f"{result['id']}: borderline code reported twice: {sorted(codes)}")
    return problems


def reference_summaries(
    model: OntologyModel,
    cards: Sequence[dict],
    memberships: dict[str, set[URIRef]],
    shacl: dict[str, dict[str, list[str]]] | None = None,
) -> dict[str, dict]:
    """Card id -> expected summary, from reference memberships and (computed here when not given) pyshacl."""
    shacl = shacl if shacl is not None else pyshacl_codes(model, cards, memberships)
    return {card["id"]: summary_from_memberships(model, memberships[card["id"]], shacl[card["id"]]) for card in cards}
