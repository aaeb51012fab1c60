"""Citations as data: the ``dcterms:source`` literal of a term, written into the ontology as citation resources.

The grammar (how a literal splits into pieces and how each piece reads in zh and en) is
:mod:`atmp.core.rules.citations`, shared with the views that read the resources back. The build parses every
literal into one resource per cited piece, linked from the term by ``atmp:citation``, with its structured
fields, its document (``atmp:citedDocument``: N, T, the contract, or the ``atmp:SourceDocument`` whose
``atmp:citationKey`` names a foreign instrument) and its words (``atmp:citationLabel`` @en and @zh). Because
the resources are generated from the literal, the two cannot disagree in a built file;
``source-format-violation.rq`` checks the agreement on any copy that was edited by hand (for instance in
Protégé).

All citation properties are annotation properties: they carry no logic, so adding them changes no
classification (the reasoners ignore annotations).
"""

from __future__ import annotations

from rdflib import OWL, RDF, XSD, Graph, Literal, URIRef

from atmp.core.rules.citations import (
    CONTRACT_SECTIONS,
    DOCUMENTS,
    FOREIGN_PREFIXES,
    NUMERALS,
    OTHER_SOURCES,
    Citation,
    CitationError,
    decision_iri,
    first_key,
    instrument_key,
    parse,
)
from atmp.core.rules.namespaces import ATMP, DCT

__all__ = [
    "CONTRACT_SECTIONS",
    "DOCUMENTS",
    "FOREIGN_PREFIXES",
    "NUMERALS",
    "OTHER_SOURCES",
    "Citation",
    "CitationError",
    "add_citations",
    "decision_iri",
    "declarations",
    "first_key",
    "parse",
    "strip",
    "triples",
]

#: the predicates the build adds; ``strip`` removes exactly these
CITATION = ATMP.citation
PREDICATES = (
    ATMP.citationText,
    ATMP.citationLabel,
    ATMP.citedDocument,
    ATMP.locator,
    ATMP.firstLine,
    ATMP.lastLine,
    ATMP.article,
    ATMP.paragraph,
    ATMP.firstItem,
    ATMP.lastItem,
    ATMP.decision,
)


def _int(n: int) -> Literal:
    return Literal(n, datatype=XSD.integer)


def triples(cite: Citation, document: URIRef | None = None) -> list[tuple]:
    """The resource of one cited piece; ``document`` overrides the grammar's (a foreign instrument's document)."""
    s = cite.iri
    out: list[tuple] = [(s, ATMP.citationText, Literal(cite.text)), (s, ATMP.locator, Literal(cite.locator))]
    out += [(s, ATMP.citationLabel, Literal(text, lang=lang)) for lang, text in cite.words]
    doc = document if document is not None else cite.document
    if doc is not None:
        out.append((s, ATMP.citedDocument, doc))
    if cite.lines:
        out += [(s, ATMP.firstLine, _int(cite.lines[0])), (s, ATMP.lastLine, _int(cite.lines[1]))]
    if cite.article is not None:
        out.append((s, ATMP.article, _int(cite.article)))
    if cite.paragraph is not None:
        out.append((s, ATMP.paragraph, _int(cite.paragraph)))
    if cite.items:
        out += [(s, ATMP.firstItem, _int(cite.items[0])), (s, ATMP.lastItem, _int(cite.items[1]))]
    out += [(s, ATMP.decision, decision_iri(n)) for n in cite.decisions]
    return out


def strip(graph: Graph) -> None:
    """Remove generated citation triples (so a rebuild starts from the literals alone)."""
    for s, _, o in list(graph.triples((None, CITATION, None))):
        graph.remove((s, CITATION, o))
    for pred in PREDICATES:
        graph.remove((None, pred, None))


def add_citations(graph: Graph) -> list[str]:
    """Add ``atmp:citation`` resources for every ``dcterms:source`` literal; return the parse errors.

    A piece the grammar gives no document (a foreign instrument, cited verbatim) is linked to the
    ``atmp:SourceDocument`` whose ``atmp:citationKey`` names its instrument, when the ontology has one.
    """
    keys = {str(k): d for d, k in graph.subject_objects(ATMP.citationKey) if isinstance(d, URIRef)}
    errors = []
    for term, literal in sorted(graph.subject_objects(DCT.source)):
        if not isinstance(term, URIRef) or not isinstance(literal, Literal):
            continue
        try:
            cites = parse(str(literal))
        except CitationError as exc:
            errors.append(f"{term}: {exc}")
            continue
        for cite in cites:
            graph.add((term, CITATION, cite.iri))
            key = instrument_key(cite.text, keys) if cite.document is None and cite.text.startswith(FOREIGN_PREFIXES) else None
            for t in triples(cite, keys.get(key) if key else None):
                graph.add(t)
    return errors


def declarations() -> list[tuple]:
    """The annotation properties the citation resources use (declared, so the file stays in OWL 2 DL)."""
    return [(p, RDF.type, OWL.AnnotationProperty) for p in (CITATION, *PREDICATES)]
