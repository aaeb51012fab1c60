"""Every IRI namespace the project mints or reads, declared once (as rdflib namespaces and plain strings).

The knowledge graph, the HTTP service and the SPARQL prefixes all take their IRIs from here, so a product's
IRI or a graph name cannot drift between the module that writes it and the one that queries it.
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import OWL, RDF, RDFS, XSD

BASE = "https://w3id.org/atmp-kg/"
ATMP = Namespace(BASE + "ontology/")
PRODUCT_NS = Namespace(BASE + "product/")
KG = Namespace(BASE + "kg/")
GRAPH = Namespace(BASE + "graph/")
SH = Namespace("http://www.w3.org/ns/shacl#")
# open namespaces (not rdflib's closed DefinedNamespace), so an annotation outside the standard term list still resolves
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = DCT = Namespace("http://purl.org/dc/terms/")

#: the prefixes written into exports and offered to SPARQL queries (the knowledge graph's vocabulary)
PREFIXES: dict[str, str] = {
    "atmp": str(ATMP),
    "product": str(PRODUCT_NS),
    "kg": str(KG),
    "graph": str(GRAPH),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
}


def local_name(iri: str) -> str:
    """The part of an IRI after its last ``#`` or ``/`` (a display fallback, never an identity)."""
    text = str(iri)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


__all__ = ["ATMP", "BASE", "DCT", "DCTERMS", "GRAPH", "KG", "OWL", "PREFIXES", "PRODUCT_NS", "RDF", "RDFS", "SH", "SKOS", "XSD", "local_name"]
