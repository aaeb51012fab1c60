"""The result: the contract's fields and the regime blocks assembled from memberships and explanations, and the
SHACL validation of the card (compiled shapes, or pyshacl as the reference).

May import: :mod:`atmp.core.rules`, :mod:`atmp.core.card`, :mod:`atmp.core.engines` and :mod:`atmp.core.explain`.
"""
