"""The HTTP service: a thin FastAPI app that mounts routers (cards, catalogue, taxonomy, SPARQL).

May import: :mod:`atmp.core`, :mod:`atmp.kg` and :mod:`atmp.analysis`; never :mod:`atmp.cli`.
"""
