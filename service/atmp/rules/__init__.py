"""The rule files, shipped inside the package: ontology, shapes, named queries, catalogue, card schemas.

In a source checkout ``ontology``, ``shapes``, ``queries`` and ``catalogue`` are links to the folders at the
top of the repository (where editors and Protégé work on them); building a wheel copies their contents
here, so an installed ``atmp`` finds the same files through :mod:`importlib.resources`. Nothing to import:
:mod:`atmp.core.rules.resources` is the one place that resolves these paths.
"""
