"""The rule book as the card path reads it: the ontology model, its regimes and messages, the result layout,
the namespaces, where the rule files are, and the compiled model stored on disk.

May import: the standard library and third-party libraries — nothing else of :mod:`atmp` (this is the floor
every other room of :mod:`atmp.core` stands on).
"""
