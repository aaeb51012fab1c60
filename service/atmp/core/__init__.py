"""The core path of a product card: card -> facts -> memberships -> explanation -> result -> SHACL.

Its parts are rooms, each a subpackage whose docstring says what it may import; together they form one
direction, and no module of one imports a module of a room below it in this list (``tests/test_architecture.py``
fails on any import cycle inside :mod:`atmp.core`, lazy imports included):

- :mod:`~atmp.core.rules` — the rule book as read: the ontology model, regimes, messages, the result layout,
  namespaces, resource paths, the compiled model on disk;
- :mod:`~atmp.core.card` — the card: strict decoding, the contract schema, the card's facts;
- :mod:`~atmp.core.engines` — class expressions, the closed-world interpreter, the compiled code, HermiT;
- :mod:`~atmp.core.explain` — why, read off the deciding definitions, as data and as sentences;
- :mod:`~atmp.core.result` — the contract's result and the regime blocks, and SHACL validation;
- ``classify`` — the path end to end; ``warm`` — what a cold start stores for the next process.

May import: the standard library, third-party libraries and other modules of :mod:`atmp.core` — nothing
else of :mod:`atmp` (``tests/test_architecture.py`` fails when it does).
"""
