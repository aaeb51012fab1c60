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

import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from atmp.core.card.facts import ProductFacts, card_facts
from atmp.core.result.shacl_compiled import CompiledShapes, NotCompilable
from atmp.core.rules.messages import specific_text
from atmp.core.rules.namespaces import DCTERMS, SH, local_name
from atmp.core.rules.ontology import ATMP, OntologyModel
from atmp.core.rules.resources import shapes_file


class ShapesError(RuntimeError):
    """The shapes file itself is invalid (e.g. a SPARQL constraint SHACL forbids), not a card."""


@lru_cache(maxsize=4)
def _load_shapes(path: str, mtime: float) -> Graph:
    """Parse the shapes once; the mtime in the key makes an edited file be re-read."""
    from atmp.core.rules.cache import shapes_graph

    cached = shapes_graph(Path(path))  # already read with the model from the compiled cache
    if cached is not None:
        return cached
    from atmp.core.rules.files import read_file

    graph = Graph()
    graph.parse(data=read_file(path, what="shapes file"), format="turtle", publicID=Path(path).absolute().as_uri())
    return graph


def load_shapes() -> Graph:
    path = shapes_file()
    return _load_shapes(str(path), path.stat().st_mtime)


def borderline_classes(model: OntologyModel) -> set[URIRef]:
    """The OWL classes whose members the result reports under ``borderline``."""
    return {rc.iri for rc in model.result_classes if rc.field == "borderline"}


def product_values(model: OntologyModel, cards: Sequence[dict], memberships: Sequence[Iterable[URIRef]] | None = None, facts: Sequence[ProductFacts] | None = None) -> dict:
    """The data to validate, as ``node -> property -> values``: the one definition of what SHACL sees.

    Per card: ``rdf:type atmp:Product`` and one value per card fact (booleans as Python bools, codes
    as vocabulary IRIs; an absent field without an ontology default has no value, which is what the
    "not stated" shapes look for). ``memberships`` (per card, the classes the reasoner put it in)
    adds the inferred borderline situations as types, each class with its ``rdfs:subClassOf
    atmp:BorderlineSituation`` link. :func:`data_graph` turns this into RDF for pyshacl.
    """
    data: dict = {}
    borderline = borderline_classes(model) if memberships is not None else set()
    for i, card in enumerate(cards):
        f = facts[i] if facts is not None else card_facts(model, card)
        node = {RDF.type: (ATMP.Product,)}
        node.update((prop, tuple(values)) for prop, values in f.values.items() if values)
        if memberships is not None:
            found = sorted(borderline.intersection(memberships[i]))
            node[RDF.type] = (ATMP.Product, *found)
            for cls in found:
                data[cls] = {RDFS.subClassOf: (ATMP.BorderlineSituation,)}
        data[f.iri] = node
    return data


def data_graph(model: OntologyModel, cards: Sequence[dict], memberships: Sequence[Iterable[URIRef]] | None = None) -> Graph:
    """:func:`product_values` as a plain RDF graph (what pyshacl validates)."""
    graph = Graph()
    graph.bind("atmp", ATMP)
    for node, props in product_values(model, cards, memberships).items():
        for prop, values in props.items():
            for value in values:
                graph.add((node, prop, Literal(value, datatype=XSD.boolean) if isinstance(value, bool) else value))
    return graph


def _texts(shapes: Graph, shape: Node, prop: URIRef) -> dict[str, str]:
    """Language-tagged literals of ``prop`` on ``shape`` as ``{lang: text}`` (the bilingual message)."""
    return {str(o.language): str(o) for o in shapes.objects(shape, prop) if isinstance(o, Literal) and o.language}


def _value(shapes: Graph, shape: Node, prop: URIRef) -> str | None:
    value = shapes.value(shape, prop)
    return None if value is None else str(value)


def _entry(model: OntologyModel, shapes: Graph, shape: Node, severity: Node, value: Node | None, result_path: Node | None, fallback: str = "") -> dict:
    """The contract's entry for one SHACL result, reading code/message/source from its shape.

    The messages are read from the shape rather than from the report's ``sh:resultMessage`` because
    pyshacl gives only one message (in one language) per result, while the contract wants both.
    For the reasoned-borderline shape they come from the OWL class in ``sh:value`` instead.
    """
    situation = next((rc for rc in model.result_classes if rc.iri == value and rc.field == "borderline"), None)
    if situation is not None:
        entry = {"code": situation.code, "message": situation.definition, "source": situation.source}
        return {**entry, "severity": situation.severity or "warning"}
    message = _texts(shapes, shape, SH.message) or {"en": fallback}
    code = _value(shapes, shape, ATMP.resultCode) or (local_name(shape) if isinstance(shape, URIRef) else "shacl")
    entry = {
        "code": code,
        "message": {"en": message.get("en", ""), "zh": message.get("zh", message.get("en", ""))},
        "source": _value(shapes, shape, DCTERMS.source) or "",
    }
    if severity == SH.Violation:
        path = _value(shapes, shape, ATMP.cardPath) or (str(result_path) if result_path is not None else "")
        entry.update({"path": path, "severity": "Violation"})
    else:
        entry["severity"] = "warning"
    return entry


def _describe(model: OntologyModel, shapes: Graph, report: Graph, result: Node) -> tuple[Node, dict]:
    """One sh:ValidationResult of a pyshacl report -> (focus node, entry)."""
    return report.value(result, SH.focusNode), _entry(  # type: ignore[return-value]
        model,
        shapes,
        report.value(result, SH.sourceShape),  # type: ignore[arg-type]
        report.value(result, SH.resultSeverity),  # type: ignore[arg-type]
        report.value(result, SH.value),
        report.value(result, SH.resultPath),
        str(report.value(result, SH.resultMessage) or ""),
    )


def shacl_report(model: OntologyModel, cards: Sequence[dict], memberships: Sequence[Iterable[URIRef]] | None = None) -> Graph:
    """The standard ``sh:ValidationReport`` of a batch, from one pyshacl call.

    One call for the whole batch because pyshacl's cost is dominated by per-call setup (shape
    parsing, SPARQL query preparation), not by the number of focus nodes. ``inference="none"`` and
    no ontology graph: the shapes are written against the asserted facts (plus, when given, the
    reasoner's borderline memberships). Warnings do not break ``sh:conforms``.
    """
    from pyshacl import validate as shacl_validate  # the reference engine; imported only when used

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


@lru_cache(maxsize=4)
def _compiled(path: str, mtime: float) -> CompiledShapes | None:
    """The shapes compiled once per file version; None when they use what is not compiled."""
    from atmp.core.rules.cache import compiled_shapes as cached

    found = cached(Path(path))  # compiled by an earlier process, with the model (same file, same bytes)
    if found is not None:
        return found
    try:
        return CompiledShapes(_load_shapes(path, mtime), ATMP.Product)
    except NotCompilable as exc:
        warnings.warn(f"{path}: {exc}; validating with pyshacl", stacklevel=2)
        return None


def compiled_shapes() -> CompiledShapes | None:
    path = shapes_file()
    return _compiled(str(path), path.stat().st_mtime)


def validate_cards(
    model: OntologyModel,
    cards: Sequence[dict],
    memberships: Sequence[Iterable[URIRef]] | None = None,
    engine: str = "compiled",
    facts: Sequence[ProductFacts] | None = None,
) -> list[dict]:
    """Validate a batch of cards and report per card, in the input order.

    ``engine="compiled"`` runs the shapes compiled by :mod:`atmp.core.result.shacl_compiled` (falling back to
    pyshacl if the shapes use a construct it does not compile); ``"pyshacl"`` is the reference.
    Both give the same entries; the tests hold them to it.

    Each item: ``{"id", "conforms", "violations": [...], "warnings": [...]}``; ``conforms`` is true
    when there is no Violation (warnings do not break conformance, unlike pyshacl's own flag).
    """
    if engine not in ("compiled", "pyshacl"):
        raise ValueError(f"unknown SHACL engine {engine!r}")
    shapes = load_shapes()
    compiled = compiled_shapes() if engine == "compiled" else None
    by_focus: dict[Node, dict[str, list[dict]]] = {}
    facts = facts if facts is not None else [card_facts(model, card) for card in cards]
    iris = [f.iri for f in facts]
    if compiled is not None:
        data = product_values(model, cards, memberships, facts)
        entries: dict[tuple, dict] = {}
        for raw in compiled.run(iris, data):
            key = (raw.shape, raw.severity, raw.value, raw.path)
            if key not in entries:
                entries[key] = _entry(model, shapes, raw.shape, raw.severity, raw.value, raw.path)  # type: ignore[arg-type]
            entry = entries[key]
            bucket = by_focus.setdefault(raw.focus, {"violations": [], "warnings": []})  # type: ignore[arg-type]
            bucket["violations" if entry["severity"] == "Violation" else "warnings"].append({**entry, "message": dict(entry["message"])})
        return _name_what_applied(model, _per_card(cards, iris, by_focus, model), memberships)
    report = shacl_report(model, cards, memberships)
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus, entry = _describe(model, shapes, report, result)
        bucket = by_focus.setdefault(focus, {"violations": [], "warnings": []})
        bucket["violations" if entry["severity"] == "Violation" else "warnings"].append(entry)
    return _name_what_applied(model, _per_card(cards, iris, by_focus, model), memberships)


def _name_what_applied(model: OntologyModel, reports: list[dict], memberships: Sequence[Iterable[URIRef]] | None) -> list[dict]:
    """Reasoned borderline warnings carry the same product-specific message as the classification result.

    The shape reports the class's definition; with the card's memberships (which include the classes named by
    ``atmp:reportsApplied``) the message names the alternative that applied, as :mod:`atmp.core.result.assemble` does.
    """
    if memberships is None:
        return reports
    situations = {rc.code: rc for rc in model.result_classes if rc.field == "borderline"}
    for report, members in zip(reports, memberships, strict=True):
        held = set(members)
        for warning in report["warnings"]:
            rc = situations.get(warning["code"])
            if rc is not None:
                warning["message"] = specific_text(model, rc.iri, rc.definition, held)
    return reports


def _per_card(cards: Sequence[dict], iris: Sequence[URIRef], by_focus: dict, model: OntologyModel) -> list[dict]:
    """Entries per card in the input order, each list sorted by code (the report itself is unordered), with the rule version used."""
    out = []
    for card, iri in zip(cards, iris, strict=True):
        bucket = by_focus.get(iri, {"violations": [], "warnings": []})
        violations = sorted(bucket["violations"], key=lambda e: e["code"])
        warnings = sorted(bucket["warnings"], key=lambda e: e["code"])
        out.append(
            {"id": card["id"], "conforms": not violations, "violations": violations, "warnings": warnings, "rule_version": {"iri": model.version_iri, "info": model.version_info}}
        )
    return out
