"""The OpenAPI document's shared pieces: the contract schemas as components, error bodies, the card request body.

The card and result schemas come from the rule files (:func:`atmp.core.rules.resources.schema`), so the
document shows exactly the contract the service checks.
"""

import copy
from functools import lru_cache

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from atmp.core.rules import resources

from .settings import Settings


def _schema(name: str) -> dict:
    schema = copy.deepcopy(resources.schema(name))
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


CARD_REF = {"$ref": "#/components/schemas/ProductCard"}
RESULT_REF = {"$ref": "#/components/schemas/ClassificationResult"}
ERROR = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
FIELD_ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "object", "description": "the problem in words: {en, zh}", "properties": {"en": {"type": "string"}, "zh": {"type": "string"}}},
                    "suggestion": {"description": "what to type instead, when it can be worked out: the nearest valid id, the code a misspelt one meant"},
                },
            },
        }
    },
}


def error_doc(description: str, schema: dict = ERROR) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@lru_cache(maxsize=1)
def example_cards() -> list[dict]:
    """Real cards for the documentation's "try it": the catalogue's first two products, without their provenance
    (the body a user would send). Read from the catalogue the service classifies, so they are always valid."""
    import json

    cards = json.loads(resources.catalogue_file().read_text(encoding="utf-8"))[:2]
    return [{k: v for k, v in card.items() if k != "provenance"} for card in cards]


def card_examples(one_only: bool = False) -> dict:
    cards = example_cards()
    out = {"one card": {"summary": f"one card: {cards[0].get('label', {}).get('en', cards[0]['id'])}", "value": cards[0]}}
    if not one_only:
        out["a list"] = {"summary": "a list of cards with distinct ids", "value": cards}
    return out


def card_body(settings: Settings, one_only: bool = False) -> dict:
    schema = CARD_REF if one_only else {"oneOf": [CARD_REF, {"type": "array", "items": CARD_REF, "minItems": 1, "maxItems": settings.max_batch}]}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "examples": card_examples(one_only)}},
            "description": "One product card (product-card.schema.json)" + ("." if one_only else f" or a JSON array of at most {settings.max_batch} cards with distinct ids."),
        }
    }


BAD_INPUT = {
    408: error_doc("The body did not arrive in time (the body timeout counts from each part to the next)"),
    413: error_doc("Body over the byte limit, more cards than the batch limit, or a Turtle report over the triple limit"),
    422: error_doc(
        "A card fails the contract schema, or (strict) has a field it does not define: one entry per problem, `loc` the path of the field, "
        "`message` the problem in words (en, zh), `suggestion` what to type instead",
        FIELD_ERROR,
    ),
    503: error_doc("The request used up its time limit, waiting for its turn included (`Retry-After`)"),
}


def install_openapi(app: FastAPI) -> None:
    """The generated document, plus the contract schemas the card routes refer to."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["ProductCard"] = _schema("product-card.schema.json")
            components["ClassificationResult"] = _schema("result.schema.json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
