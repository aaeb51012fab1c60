"""``GET /classes`` and ``GET /criteria``: the taxonomy, as built by :mod:`atmp.analysis.taxonomy`."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from atmp.analysis import taxonomy

from ..state import Service

Lang = Literal["en", "zh"]


def router(service: Service) -> APIRouter:
    api = APIRouter()

    @api.get("/classes", tags=["taxonomy"], summary="The taxonomy: NMPA scope, classes and subclasses, exclusions, Tianjin categories, subcategories and tiers")
    def classes(lang: Annotated[Lang, Query(description="language of labels and definitions")] = "en") -> dict:
        return {"lang": lang, "ontology": service.model.version_iri, "roots": taxonomy.classes(service.model, lang)}

    @api.get("/criteria", tags=["taxonomy"], summary="The 14 Tianjin risk criteria (T 6) with label, definition and source")
    def criteria(lang: Annotated[Lang, Query(description="language of labels and definitions")] = "en") -> dict:
        return {"lang": lang, "ontology": service.model.version_iri, "criteria": taxonomy.criteria(service.model, lang)}

    return api
