"""The catalogue knowledge graph, built once per test session and shared by the KG, query and remote tests."""

from __future__ import annotations

from functools import lru_cache

from atmp.kg.catalogue import load_catalogue
from atmp.kg.store import KnowledgeGraph, shared_graph

# Parameter sets every named query is run with (embedded and remote); a query not listed runs with its defaults.
# Values with quotes and braces must leave the query's shape alone and match nothing.
INJECTIONS = ['x" } ; DROP ALL ; { "', "}} UNION {{ ?s ?p ?o", "x' } UNION { ?s ?p ?o } #", 'a"""} } #\n?s ?p ?o']
PARAM_CASES: dict[str, list[dict[str, str]]] = {
    "products-by-nmpa-subclass": [{}, {"subclass": "viral_vector_gtmp"}, {"subclass": INJECTIONS[0]}, {"subclass": INJECTIONS[1]}],
    "risk-tier-criteria": [{}, {"tier": "medium"}, {"tier": INJECTIONS[2]}],
    "borderline-products": [{}, {"code": "priority_gene_editing"}, {"code": INJECTIONS[3]}],
    "products-by-manipulation": [{}, {"manipulation": "gene_editing"}],
    "rules-mentioning-term": [{"term": "encapsulation"}, {"term": "包封"}, {"term": INJECTIONS[0]}],
    "products-by-priority-rule": [{}, {"rule": "priority_neoantigen"}],
    "approvals-by-year": [{}, {"year": "2021"}, {"jurisdiction": "US"}, {"jurisdiction": INJECTIONS[1]}],
    "explain-product": [{"product": "gendicine"}, {"product": "h101-oncorine"}],
    "precedents-of-a-product": [{"product": "tisagenlecleucel"}, {"product": "holoclar"}],
    "catalogue-provenance": [{}, {"status": "investigational"}],
}


def catalogue_graph() -> KnowledgeGraph:
    return shared_graph(engine="compiled")


@lru_cache(maxsize=1)
def catalogue_cards() -> tuple[dict, ...]:
    return tuple(load_catalogue())
