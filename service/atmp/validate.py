"""SHACL validation of product cards: does a card contradict itself, or is it borderline?

The shapes live in ``shapes/product-shapes.ttl`` (next to the ontology, editable by a regulatory
scientist); this module only builds the data graph, runs pyshacl once per batch and turns the
SHACL report back into the contract's ``violations`` / ``borderline`` entries.

Why a separate, plain data graph rather than :func:`atmp.graph.add_product`: that graph carries
OWL closure restrictions as blank-node types (``rdf:type [owl:Restriction ...]``), which are for
the reasoner. SHACL needs none of them, they slow pyshacl down (every blank node is a potential
focus of ``rdf:type`` checks) and they could accidentally match a ``sh:targetClass``. The shapes
spell out vocabulary groupings themselves, so no inference and no ontology graph are needed.

Borderline situations the *reasoner* finds (priority rules, tier conflicts, N-excludes-T-grades...)
are defined once, as OWL classes. The data graph receives the product's inferred membership in
those classes (``rdf:type``) together with the named-class link ``C rdfs:subClassOf
atmp:BorderlineSituation``; one generic shape reports each such membership as a Warning, and its
code, bilingual message and source are read from the OWL class. So ``atmp validate`` shows every
borderline entry the result shows, while the rule itself stays in the ontology.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from .graph import card_facts
from .ontology import ATMP, OntologyModel
from .paths import shapes_dir

SH = Namespace("http://www.w3.org/ns/shacl#")
DCTERMS = Namespace("http://purl.org/dc/terms/")

SHAPES_FILE = "product-shapes.ttl"


class ShapesError(RuntimeError):
    """The shapes file itself is invalid (e.g. a SPARQL constraint SHACL forbids), not a card."""


def shapes_file() -> Path:
    """The product shapes file (``ATMP_SHAPES`` may point at an edited copy of the shapes folder)."""
    return shapes_dir() / SHAPES_FILE


@lru_cache(maxsize=4)
def _load_shapes(path: str, mtime: float) -> Graph:
    """Parse the shapes once; the mtime in the key makes an edited file be re-read."""
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


def load_shapes() -> Graph:
    path = shapes_file()
    return _load_shapes(str(path), path.stat().st_mtime)


def borderline_classes(model: OntologyModel) -> set[URIRef]:
    """The OWL classes whose members the result reports under ``borderline``."""
    return {rc.iri for rc in model.result_classes if rc.field == "borderline"}


def data_graph(model: OntologyModel, cards: Sequence[dict], memberships: Sequence[Iterable[URIRef]] | None = None) -> Graph:
    """A plain graph of the cards' facts: ``rdf:type atmp:Product`` plus one triple per value.

    Booleans become ``xsd:boolean`` literals, codes their vocabulary IRIs; absent fields without an
    ontology default produce no triple, which is what the "not stated" shapes look for.
    ``memberships`` (per card, the classes the reasoner put it in) adds the inferred borderline
    situations, each with its ``rdfs:subClassOf atmp:BorderlineSituation`` link.
    """
    graph = Graph()
    graph.bind("atmp", ATMP)
    borderline = borderline_classes(model) if memberships is not None else set()
    for i, card in enumerate(cards):
        facts = card_facts(model, card)
        graph.add((facts.iri, RDF.type, ATMP.Product))
        for prop, values in facts.values.items():
            for value in values:
                obj = Literal(value, datatype=XSD.boolean) if isinstance(value, bool) else value
                graph.add((facts.iri, prop, obj))
        if memberships is not None:
            for cls in borderline.intersection(memberships[i]):
                graph.add((facts.iri, RDF.type, cls))
                graph.add((cls, RDFS.subClassOf, ATMP.BorderlineSituation))
    return graph


def _texts(shapes: Graph, shape: Node, prop: URIRef) -> dict[str, str]:
    """Language-tagged literals of ``prop`` on ``shape`` as ``{lang: text}`` (the bilingual message)."""
    return {str(o.language): str(o) for o in shapes.objects(shape, prop) if isinstance(o, Literal) and o.language}


def _value(shapes: Graph, shape: Node, prop: URIRef) -> str | None:
    value = shapes.value(shape, prop)
    return None if value is None else str(value)


def _describe(model: OntologyModel, shapes: Graph, report: Graph, result: Node) -> tuple[Node, dict]:
    """One sh:ValidationResult -> (focus node, entry), reading code/message/source from its shape.

    The messages are read from the shape rather than from the report's ``sh:resultMessage`` because
    pyshacl gives only one message (in one language) per result, while the contract wants both.
    For the reasoned-borderline shape they come from the OWL class in ``sh:value`` instead.
    """
    focus = report.value(result, SH.focusNode)
    shape = report.value(result, SH.sourceShape)
    severity = report.value(result, SH.resultSeverity)
    value = report.value(result, SH.value)
    situation = next((rc for rc in model.result_classes if rc.iri == value and rc.field == "borderline"), None)
    if situation is not None:
        entry = {"code": situation.code, "message": situation.definition, "source": situation.source}
        return focus, {**entry, "severity": situation.severity or "warning"}
    message = _texts(shapes, shape, SH.message)
    if not message:
        message = {"en": str(report.value(result, SH.resultMessage) or "")}
    code = _value(shapes, shape, ATMP.resultCode) or (str(shape).rsplit("/", 1)[-1] if isinstance(shape, URIRef) else "shacl")
    entry = {
        "code": code,
        "message": {"en": message.get("en", ""), "zh": message.get("zh", message.get("en", ""))},
        "source": _value(shapes, shape, DCTERMS.source) or "",
    }
    if severity == SH.Violation:
        result_path = report.value(result, SH.resultPath)
        path = _value(shapes, shape, ATMP.cardPath) or (str(result_path) if result_path is not None else "")
        entry.update({"path": path, "severity": "Violation"})
    else:
        entry["severity"] = "warning"
    return focus, entry


def shacl_report(model: OntologyModel, cards: Sequence[dict], memberships: Sequence[Iterable[URIRef]] | None = None) -> Graph:
    """The standard ``sh:ValidationReport`` of a batch, from one pyshacl call.

    One call for the whole batch because pyshacl's cost is dominated by per-call setup (shape
    parsing, SPARQL query preparation), not by the number of focus nodes. ``inference="none"`` and
    no ontology graph: the shapes are written against the asserted facts (plus, when given, the
    reasoner's borderline memberships). Warnings do not break ``sh:conforms``.
    """
    shapes = load_shapes()
    _, report, _ = shacl_validate(
        data_graph(model, cards, memberships),
        shacl_graph=shapes,
        inference="none",
        allow_warnings=True,
    )
    if not isinstance(report, Graph):
        # pyshacl returns a ValidationFailure (not a report) when the *shapes* are broken; say so
        # plainly instead of failing later on a missing method.
        raise ShapesError(f"{shapes_file()}: {getattr(report, 'message', report)}")
    return report


def bilingual_report(model: OntologyModel, report: Graph) -> Graph:
    """The report with every result's message in both languages, as the contract's entries have.

    pyshacl writes one ``sh:resultMessage`` per result in one language; a reader of the Turtle
    report (or a SPARQL query over it) should see what ``atmp validate`` prints in JSON.
    """
    shapes = load_shapes()
    for result in list(report.subjects(RDF.type, SH.ValidationResult)):
        _, entry = _describe(model, shapes, report, result)
        report.remove((result, SH.resultMessage, None))
        for lang, text in entry["message"].items():
            report.add((result, SH.resultMessage, Literal(text, lang=lang)))
        if entry["source"]:
            report.add((result, DCTERMS.source, Literal(entry["source"])))
        report.add((result, ATMP.resultCode, Literal(entry["code"])))
    report.bind("sh", SH)
    report.bind("atmp", ATMP)
    report.bind("dcterms", DCTERMS)
    return report


def validate_cards(model: OntologyModel, cards: Sequence[dict], memberships: Sequence[Iterable[URIRef]] | None = None) -> list[dict]:
    """Validate a batch of cards and report per card, in the input order.

    Each item: ``{"id", "conforms", "violations": [...], "warnings": [...]}``; ``conforms`` is true
    when there is no Violation (warnings do not break conformance, unlike pyshacl's own flag).
    """
    shapes = load_shapes()
    report = shacl_report(model, cards, memberships)
    by_focus: dict[Node, dict[str, list[dict]]] = {}
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus, entry = _describe(model, shapes, report, result)
        bucket = by_focus.setdefault(focus, {"violations": [], "warnings": []})
        bucket["violations" if entry["severity"] == "Violation" else "warnings"].append(entry)
    out = []
    for card in cards:
        bucket = by_focus.get(card_facts(model, card).iri, {"violations": [], "warnings": []})
        violations = sorted(bucket["violations"], key=lambda e: e["code"])
        warnings = sorted(bucket["warnings"], key=lambda e: e["code"])
        out.append({"id": card["id"], "conforms": not violations, "violations": violations, "warnings": warnings})
    return out
