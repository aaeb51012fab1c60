"""The card and its facts: strict decoding, the contract schema's gate, unknown fields, and the card's facts in
the ontology's terms (with the closure axioms a reasoner needs).

May import: :mod:`atmp.core.rules`, the standard library and third-party libraries.
"""
