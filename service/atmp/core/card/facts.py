"""Card -> product individual: facts, RDF triples and the closure axioms that make OWL answer "no".

OWL is open-world: from "manipulations: [washing]" alone a reasoner cannot conclude that the
product is *not* substantially manipulated. Each product therefore carries closure axioms that
say its card is complete:

* a multi-valued field (manipulations, combined_with, mechanism) becomes
  ``P only {v1, ..., vn}`` (or ``P max 0`` when the list is empty);
* an absent field becomes ``P max 0`` (the card is silent: there is no such value), unless the
  ontology gives the property an ``atmp:valueWhenAbsent``, which is then asserted;
* single-valued fields need nothing more: the properties are functional and the vocabulary
  individuals pairwise different (``owl:AllDifferent`` in the ontology).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from atmp.core.rules.ontology import ATMP, PRODUCT_NS, OntologyModel

Value = URIRef | bool


@dataclass(frozen=True)
class ProductFacts:
    """What the card says, in ontology terms: property IRI -> values (empty tuple = closed, none)."""

    iri: URIRef
    card_id: str
    values: dict[URIRef, tuple[Value, ...]]
    types: frozenset[URIRef] = frozenset({ATMP.Product})


def product_iri(card_id: str) -> URIRef:
    return PRODUCT_NS[card_id]


def card_facts(model: OntologyModel, card: dict) -> ProductFacts:
    """Map a validated card onto the ontology's properties, applying its declared defaults."""
    values: dict[URIRef, tuple[Value, ...]] = {}
    for prop in model.properties:
        raw = card.get(prop.section, {}).get(prop.key)
        if raw is None:
            values[prop.iri] = () if prop.default is None else (prop.default,)
        elif prop.is_object:
            items = raw if isinstance(raw, list) else [raw]
            values[prop.iri] = tuple(prop.codes[code] for code in items)
        else:
            values[prop.iri] = (bool(raw),)
    return ProductFacts(product_iri(card["id"]), card["id"], values)


def _restriction(graph: Graph, prop: URIRef, predicate: URIRef, obj) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, OWL.Restriction))
    graph.add((node, OWL.onProperty, prop))
    graph.add((node, predicate, obj))
    return node


def add_product(graph: Graph, model: OntologyModel, facts: ProductFacts, card: dict | None = None) -> None:
    """Assert the product individual, its facts and its closure axioms into ``graph``."""
    s = facts.iri
    graph.add((s, RDF.type, OWL.NamedIndividual))
    for t in facts.types:
        graph.add((s, RDF.type, t))
    if card is not None:
        graph.add((s, ATMP.cardId, Literal(card["id"])))
        for lang, text in (card.get("label") or {}).items():
            graph.add((s, RDFS.label, Literal(text, lang=lang)))
    props = {p.iri: p for p in model.properties}
    for prop_iri, vals in facts.values.items():
        prop = props[prop_iri]
        for v in vals:
            graph.add((s, prop_iri, v if prop.is_object else Literal(v, datatype=XSD.boolean)))  # type: ignore[arg-type]
        if not vals:
            graph.add((s, RDF.type, _restriction(graph, prop_iri, OWL.maxCardinality, Literal(0, datatype=XSD.nonNegativeInteger))))
        elif prop.is_object and not prop.functional:
            one_of = BNode()
            graph.add((one_of, RDF.type, OWL.Class))
            members = BNode()
            Collection(graph, members, list(vals))
            graph.add((one_of, OWL.oneOf, members))
            graph.add((s, RDF.type, _restriction(graph, prop_iri, OWL.allValuesFrom, one_of)))
