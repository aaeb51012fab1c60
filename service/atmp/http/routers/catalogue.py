"""``GET /products`` and ``GET /products/{id}``: the classified catalogue, filtered by the ontology's own codes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..openapi import error_doc
from ..state import Service


def router(service: Service) -> APIRouter:
    api = APIRouter()
    # the filters' allowed values are the codes the ontology defines, so the OpenAPI document lists them
    Subclass = Literal[tuple(service.codes["nmpa.subclass"])]  # type: ignore[valid-type]
    Tier = Literal[tuple([*service.codes["tianjin.risk_tier"], "none"])]  # type: ignore[valid-type]
    Borderline = Literal[tuple(["true", "false", *service.codes["borderline"]])]  # type: ignore[valid-type]

    @api.get(
        "/products",
        tags=["catalogue"],
        summary="The classified catalogue, filtered",
        responses={
            200: {
                "description": "`count` and the products (id, label, provenance and the result's classification fields; "
                "`borderline` as codes). GET /products/{id} has the full result."
            }
        },
    )
    def products(
        subclass: Annotated[Subclass | None, Query(description="NMPA subclass code (nmpa.subclass)")] = None,  # type: ignore[valid-type]
        tier: Annotated[Tier | None, Query(description="Tianjin risk tier; `none` for products without one")] = None,  # type: ignore[valid-type]
        borderline: Annotated[Borderline | None, Query(description="`true`: with any borderline entry, `false`: with none, or a borderline code")] = None,  # type: ignore[valid-type]
    ) -> dict:
        found = service.find_products(subclass, tier, borderline)
        return {"count": len(found), "products": found}

    @api.get(
        "/products/{product_id}",
        tags=["catalogue"],
        summary="One catalogue product: its card, provenance and full result",
        responses={404: error_doc("No product with this id in the catalogue")},
    )
    def product(product_id: Annotated[str, PathParam(description="The card id", max_length=128)]) -> dict:
        if product_id not in service.products:
            raise StarletteHTTPException(404, f"no product with id {product_id!r} in the catalogue")
        entry = service.products[product_id]
        card = {k: v for k, v in entry["card"].items() if k != "provenance"}
        return {"id": product_id, "label": card.get("label", {}), "provenance": entry["card"].get("provenance"), "card": card, "result": entry["result"]}

    return api
