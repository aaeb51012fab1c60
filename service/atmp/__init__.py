"""ATMP-KG: what an advanced therapy product is under Chinese regulation, how risky, and why.

The rules are data (:mod:`atmp.rules`: the ontology, the SHACL shapes, the named queries); the package
moves a product card along one path and builds what people use around it:

- :mod:`atmp.core` — card -> facts -> reason (compiled evaluator or HermiT) -> validate (SHACL) -> explain
  -> result. Imports nothing from the rest of the package.
- :mod:`atmp.kg` — the knowledge graph: catalogue, materialised named graphs, store, named queries,
  SPARQL lexing and results, publishing. Imports :mod:`atmp.core`.
- :mod:`atmp.analysis` — what-if, taxonomy, rendering and plots over results. Imports :mod:`atmp.core`
  and :mod:`atmp.kg`.
- :mod:`atmp.http` — the HTTP service: a thin app mounting routers. Imports everything above.
- :mod:`atmp.cli` — the ``atmp`` command. Imports everything above, lazily.
"""

__version__ = "0.2.0"
