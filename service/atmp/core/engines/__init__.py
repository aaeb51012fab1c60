"""The engines that decide class memberships: the class expressions, the closed-world interpreter, the compiled
code generated from the same definitions, and HermiT (the reference, in Java).

May import: :mod:`atmp.core.rules` and :mod:`atmp.core.card`, the standard library and third-party libraries.
"""
