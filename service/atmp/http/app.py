"""The HTTP lookup service: a thin FastAPI app that mounts one router per concern.

``create_app(settings, service)`` loads the ontology and the classified catalogue once (:class:`~atmp.http.state.Service`),
installs the JSON error handlers (:mod:`.errors`) and the body limit (:mod:`.limits`), and mounts the routers:
cards (classify, validate), catalogue (products), taxonomy (classes, criteria), SPARQL (a
:class:`~atmp.http.routers.sparql.SparqlRouter`) and service (health, root). ``atmp serve`` runs it with uvicorn.
"""

import json
import logging
import sys
from contextlib import asynccontextmanager
from dataclasses import asdict

from fastapi import FastAPI

from atmp import __version__

from .errors import install_error_handlers
from .limits import BodyLimit
from .openapi import install_openapi
from .routers import cards, catalogue, report, taxonomy, workbench
from .routers import service as service_routes
from .routers.sparql import SparqlRouter
from .settings import Settings
from .state import Service

log = logging.getLogger("atmp.service")

__all__ = ["Service", "Settings", "create_app", "serve"]


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """The FastAPI application; loads the ontology and the catalogue now (once), starts SPARQL workers on start-up."""
    settings = settings or Settings.from_env()
    service = service or Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.start()  # the SPARQL workers, and the card workers (ready before the first request is taken)
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="ATMP-KG lookup service",
        version=__version__,
        description=(
            "The workbench for people is at `/` (describe a product, the catalogue, the rule book, SPARQL). "
            "Classify advanced therapy product cards under Chinese regulation (NMPA draft N and Tianjin standard T), with the EU, US and Japanese rules beside them, "
            "validate them with SHACL, browse the classified catalogue and the taxonomy, and query the knowledge graph "
            f"with read-only SPARQL. Limits: {settings.max_batch} cards per request, {settings.max_body_bytes} bytes per body, "
            f"SPARQL {settings.sparql_timeout:g} s and {settings.sparql_max_results} results per query."
        ),
        lifespan=lifespan,
        debug=False,
        docs_url=None,  # Swagger UI and ReDoc are served offline by the workbench router (no CDN)
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, body_timeout=settings.body_timeout)
    install_error_handlers(app)
    app.include_router(cards.router(service, settings))
    app.include_router(report.router)  # POST /report: the committee document
    app.include_router(catalogue.router(service))
    app.include_router(taxonomy.router(service))
    app.include_router(SparqlRouter(service.pool, page=lambda request: workbench.sparql_page(request) if workbench.wants_page(request) else None))
    app.include_router(service_routes.router(service, settings))
    app.include_router(workbench.router)  # the web workbench: /, /catalogue, /rules, /docs, /redoc, /whatif, /queries
    install_openapi(app)
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Run the service with uvicorn (one process; the SPARQL workers are its children), connections bounded by :mod:`.connections`."""
    import uvicorn

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    log.info(
        "ATMP-KG service: %d products, ontology %s, loaded in %.2f s; limits %s",
        len(app.state.service.products),
        app.state.service.model.version_iri,
        app.state.service.startup_seconds,
        json.dumps(asdict(settings), default=str),
    )
    from .connections import uvicorn_options

    print(workbench_banner(host, port), file=sys.stderr, flush=True)  # at any log level: where a person starts
    # the header time limit, the connection cap and uvicorn's own limits (keep-alive, header bytes, concurrency)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, **uvicorn_options(settings))


def workbench_banner(host: str, port: int) -> str:
    """What ``atmp serve`` says first: where the workbench and the API documentation are."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - naming the address, not binding it
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    return f"ATMP-KG workbench: {base}/  (describe a product, catalogue, rule book, SPARQL)\nAPI documentation: {base}/docs  (ReDoc: {base}/redoc)"
