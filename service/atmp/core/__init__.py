"""The core path of a product card: card -> facts -> reason -> validate -> explain -> result.

``card`` checks a card against the contract schema; ``facts`` turns it into the ontology's terms (and the
closure axioms a reasoner needs); ``evaluator`` (the compiled, closed-world engine) and ``reasoner``
(HermiT, the reference) decide class memberships from the ontology loaded by ``ontology``; ``validate`` runs
the SHACL shapes (``shacl_compiled`` or pyshacl); ``explain`` says why; ``result`` assembles the contract's
result using ``layout``; ``classify`` is the path end to end. ``namespaces`` and ``resources`` are the shared
facts (IRIs, where the rule files are).

May import: the standard library, third-party libraries and other modules of :mod:`atmp.core` — nothing
else of :mod:`atmp` (``tests/test_architecture.py`` fails when it does).
"""
