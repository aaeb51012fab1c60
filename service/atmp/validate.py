"""SHACL validation of product cards: does a card contradict itself, or is it borderline?

The shapes live in ``shapes/product-shapes.ttl`` (next to the ontology, editable by a regulatory
scientist); this module only builds the data graph, runs pyshacl once per batch and turns the
SHACL report back into the contract's ``violations`` / ``borderline`` entries.

Why a separate, plain data graph rather than :func:`atmp.graph.add_product`: that graph carries
OWL closure restrictions as blank-node types (``rdf:type [owl:Restriction ...]``), which are for
the reasoner. SHACL needs none of them, they slow pyshacl down (every blank node is a potential
focus of ``rdf:type`` checks) and they could accidentally match a ``sh:targetClass``. The shapes
spell out vocabulary groupings themselves, so no inference and no ontology graph are needed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
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


def data_graph(model: OntologyModel, cards: list[dict]) -> Graph:
    """A plain graph of the cards' facts: ``rdf:type atmp:Product`` plus one triple per value.

    Booleans become ``xsd:boolean`` literals, codes their vocabulary IRIs; absent fields without an
    ontology default produce no triple, which is what the "not stated" shapes look for.
    """
    graph = Graph()
    graph.bind("atmp", ATMP)
    for card in cards:
        facts = card_facts(model, card)
        graph.add((facts.iri, RDF.type, ATMP.Product))
        for prop, values in facts.values.items():
            for value in values:
                obj = Literal(value, datatype=XSD.boolean) if isinstance(value, bool) else value
                graph.add((facts.iri, prop, obj))
    return graph


def _texts(shapes: Graph, shape: Node, prop: URIRef) -> dict[str, str]:
    """Language-tagged literals of ``prop`` on ``shape`` as ``{lang: text}`` (the bilingual message)."""
    return {str(o.language): str(o) for o in shapes.objects(shape, prop) if isinstance(o, Literal) and o.language}


def _value(shapes: Graph, shape: Node, prop: URIRef) -> str | None:
    value = shapes.value(shape, prop)
    return None if value is None else str(value)


def _describe(shapes: Graph, report: Graph, result: Node) -> tuple[Node, dict]:
    """One sh:ValidationResult -> (focus node, entry), reading code/message/source from its shape.

    The messages are read from the shape rather than from the report's ``sh:resultMessage`` because
    pyshacl gives only one message (in one language) per result, while the contract wants both.
    """
    focus = report.value(result, SH.focusNode)
    shape = report.value(result, SH.sourceShape)
    severity = report.value(result, SH.resultSeverity)
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


def validate_cards(model: OntologyModel, cards: list[dict]) -> list[dict]:
    """Validate a batch of cards in one pyshacl call and report per card, in the input order.

    One call for the whole batch because pyshacl's cost is dominated by per-call setup (shape
    parsing, SPARQL query preparation), not by the number of focus nodes. ``inference="none"`` and
    no ontology graph: the shapes are written against the asserted facts only.

    Each item: ``{"id", "conforms", "violations": [...], "warnings": [...]}``; ``conforms`` is true
    when there is no Violation (warnings do not break conformance, unlike pyshacl's own flag).
    """
    shapes = load_shapes()
    _, report, _ = shacl_validate(
        data_graph(model, cards),
        shacl_graph=shapes,
        inference="none",
        allow_warnings=True,
    )
    if not isinstance(report, Graph):
        # pyshacl returns a ValidationFailure (not a report) when the *shapes* are broken; say so
        # plainly instead of failing later on a missing method.
        raise ShapesError(f"{shapes_file()}: {getattr(report, 'message', report)}")
    by_focus: dict[Node, dict[str, list[dict]]] = {}
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus, entry = _describe(shapes, report, result)
        bucket = by_focus.setdefault(focus, {"violations": [], "warnings": []})
        bucket["violations" if entry["severity"] == "Violation" else "warnings"].append(entry)
    out = []
    for card in cards:
        bucket = by_focus.get(card_facts(model, card).iri, {"violations": [], "warnings": []})
        violations = sorted(bucket["violations"], key=lambda e: e["code"])
        warnings = sorted(bucket["warnings"], key=lambda e: e["code"])
        out.append({"id": card["id"], "conforms": not violations, "violations": violations, "warnings": warnings})
    return out
