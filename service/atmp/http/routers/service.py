"""``GET /health``: liveness, what is loaded, and the rule version every answer carries."""

from fastapi import APIRouter

from atmp import __version__

from ..connections import STATS as connection_stats
from ..settings import Settings
from ..state import Service, jvm_started


def router(service: Service, settings: Settings) -> APIRouter:
    api = APIRouter()

    @api.get("/health", tags=["service"], summary="Liveness and what is loaded")
    async def health() -> dict:  # on the event loop: needs no thread, so busy threads cannot delay it
        return {
            "status": "ok",
            "version": __version__,
            "ontology": service.model.version_iri,
            "rule_version": {"iri": service.model.version_iri, "info": service.model.version_info},  # read from the ontology, as results carry it
            "engine": "compiled",
            "java_started": jvm_started(),  # the compiled engine never starts one
            "products": len(service.products),
            "sparql_workers": {
                "ready": service.pool.ready,
                "size": service.pool.size,
                "restarts": service.pool.restarts,
                "queue": service.pool.queue,
                "refused": service.pool.refused,
            },
            "card_workers": {  # card work runs here, never on this event loop (atmp.http.card_pool)
                "ready": service.cards.ready,
                "size": service.cards.size,
                "idle": service.cards.turns.idle,
                "waiting": service.cards.turns.waiting,
                "restarts": service.cards.restarts,
                "refused": service.cards.refused,
            },
            "connections": dict(connection_stats),  # refused over the cap, timed out in their headers (atmp serve)
            "limits": settings.public(),
            "startup_seconds": round(service.startup_seconds, 3),
        }

    return api
