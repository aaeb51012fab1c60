"""The knowledge graph: the catalogue of real products, classified and materialised as named graphs.

``graph`` holds the catalogue and provenance, the asserted and inferred named graphs and the embedded
pyoxigraph store; ``queries`` the named SPARQL queries (``queries/*.rq``) and their safe parameter binding,
embedded or on a remote endpoint; ``publish`` the Graph Store Protocol upload.

May import: :mod:`atmp.core` and third-party libraries; never :mod:`atmp.http`, :mod:`atmp.analysis` or
:mod:`atmp.cli`.
"""
