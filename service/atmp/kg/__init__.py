"""The knowledge graph: the catalogue of real products, classified and materialised as named graphs.

``terms`` names the namespaces, graphs and prefixes and converts rdflib terms; ``catalogue`` reads the
catalogue, its provenance and the vocabulary; ``materialise`` writes the asserted and inferred named graphs;
``store`` holds them in the embedded pyoxigraph store (:class:`~atmp.kg.store.KnowledgeGraph`);
``results`` is the one SPARQL-results writer and the query-result model; ``sparql_lexer`` the one SPARQL
lexer; ``queries`` the named SPARQL queries (``queries/*.rq``) and their safe parameter binding, embedded or
on a remote endpoint; ``publish`` the Graph Store Protocol upload.

May import: :mod:`atmp.core` and third-party libraries; never :mod:`atmp.http`, :mod:`atmp.analysis` or
:mod:`atmp.cli`.
"""
