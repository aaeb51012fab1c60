"""The service's routes, one :class:`fastapi.APIRouter` per concern, mounted by :func:`atmp.http.app.create_app`.

``cards`` (classify, validate), ``catalogue`` (products), ``taxonomy`` (classes, criteria), ``sparql`` (the
read-only endpoint, a :class:`~atmp.http.routers.sparql.SparqlRouter` usable on its own) and ``service``
(health, root).
"""
