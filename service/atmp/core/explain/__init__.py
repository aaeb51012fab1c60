"""Explanations: why a product is (or is not) in a class, read off the engines' definitions over its facts,
as data, and the sentences made from that data.

May import: :mod:`atmp.core.rules`, :mod:`atmp.core.card` and :mod:`atmp.core.engines`.
"""
