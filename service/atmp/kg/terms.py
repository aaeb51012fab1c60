"""The knowledge graph's terms: namespaces, named graphs, prefixes, IRIs and rdflib → pyoxigraph conversion.

Kept apart so that every other module of :mod:`atmp.kg` (catalogue, materialisation, store, results) shares
one set of names and one conversion, and none needs the store to say what a term is.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import BNode as RBNode
from rdflib import Literal as RLiteral
from rdflib import URIRef

from atmp.core.rules.namespaces import BASE, DCTERMS, GRAPH, KG, PREFIXES, PRODUCT_NS, RDF, RDFS, XSD

from .names import GRAPH_NAMES

# plain-string forms of the shared namespaces (pyoxigraph terms are built from strings)
GRAPH_NS = str(GRAPH)
KG_NS = str(KG)
GRAPHS = {name: ox.NamedNode(GRAPH_NS + name) for name in GRAPH_NAMES}

RDF_NS = str(RDF)
RDFS_NS = str(RDFS)
XSD_NS = str(XSD)
DCT_NS = str(DCTERMS)

__all__ = ["BASE", "DCT_NS", "GRAPHS", "GRAPH_NAMES", "GRAPH_NS", "KG_NS", "PREFIXES", "RDFS_NS", "RDF_NS", "XSD_NS"]

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def _iri(ns: str, local: str) -> ox.NamedNode:
    return ox.NamedNode(ns + local)


RDF_TYPE = _iri(RDF_NS, "type")
RDFS_LABEL = _iri(RDFS_NS, "label")
RDFS_COMMENT = _iri(RDFS_NS, "comment")
DCT_SOURCE = _iri(DCT_NS, "source")
XSD_STRING = _iri(XSD_NS, "string")


def kg(local: str) -> ox.NamedNode:
    return _iri(KG_NS, local)


class KGError(ValueError):
    """Unusable input for the knowledge graph (missing file, unknown format, invalid SPARQL...)."""


def valid_iri(text: str) -> bool:
    """An http(s) IRI that oxigraph accepts (provenance URLs become IRIs only then, otherwise literals)."""
    if not re.match(r"^https?://", text):
        return False
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def to_ox(term) -> Term:
    """rdflib term -> pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, RBNode):
        return ox.BlankNode(str(term))
    if isinstance(term, RLiteral):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def product_node(card_id: str) -> ox.NamedNode:
    return ox.NamedNode(str(PRODUCT_NS[card_id]))


def graph_node(name: str) -> ox.NamedNode:
    if name in GRAPHS:
        return GRAPHS[name]
    raise KGError(f"unknown graph {name!r}; expected one of: {', '.join(GRAPH_NAMES)}")


def term_value(term: Term | None):
    """A term as a plain Python value: IRIs and plain literals as str, integers, decimals, booleans as such."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt == XSD_NS + "boolean":
            return term.value in ("true", "1")
        if dt in (XSD_NS + "integer", XSD_NS + "int", XSD_NS + "long", XSD_NS + "nonNegativeInteger", XSD_NS + "gYear"):
            try:
                return int(term.value)
            except ValueError:
                return term.value
        return term.value
    return term.value


def compact(iri: str) -> str:
    """An IRI as ``prefix:local`` with the project's prefixes when the local part is plain, else ``<iri>``."""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and re.fullmatch(r"[A-Za-z0-9_.\-]*", iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"
