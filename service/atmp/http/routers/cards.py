"""``POST /classify`` and ``POST /validate``: cards in, results or SHACL reports out."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..openapi import BAD_INPUT, RESULT_REF, card_body
from ..settings import Settings
from ..state import Service

Strict = Annotated[bool, Query(description="refuse (422) a card with a field the contract does not define; by default it is accepted and its result says so in `warnings`")]
Explain = Annotated[Literal["full", "brief", "none"], Query(description="explanations: full (every rule walked, default), brief (deciding reasons only), none")]


def router(service: Service, settings: Settings) -> APIRouter:
    api = APIRouter()

    @api.post(
        "/classify",
        tags=["cards"],
        summary="Classify one card or a list of cards",
        openapi_extra=card_body(settings),
        responses={
            200: {
                "description": "The result of `atmp classify`: one result for one card, a list for a list",
                "content": {"application/json": {"schema": {"oneOf": [RESULT_REF, {"type": "array", "items": RESULT_REF}]}}},
            },
            **BAD_INPUT,
        },
    )
    async def classify(request: Request, strict: Strict = False, explain: Explain = "full") -> Response:
        """Same answers as `atmp classify --engine compiled` (and, as the tests prove, as the HermiT reference).

        `?explain=brief`: only the deciding reasons per conclusion; `none`: no explanations; `full` (default): the whole walk.
        """
        body = await request.body()
        return Response(await service.classify(body, strict, explain), media_type="application/json")  # bytes from a card worker

    @api.post(
        "/validate",
        tags=["cards"],
        summary="SHACL report of one card or a list of cards",
        openapi_extra=card_body(settings),
        responses={
            200: {
                "description": "JSON: per card `{id, conforms, violations, warnings}` (as `atmp validate`); "
                "Turtle (`Accept: text/turtle` or `format=turtle`): the standard sh:ValidationReport with messages in zh and en",
                "content": {
                    "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
                    "text/turtle": {"schema": {"type": "string"}},
                },
            },
            **BAD_INPUT,
        },
    )
    async def validate(
        request: Request,
        format: Annotated[Literal["json", "turtle"] | None, Query(description="json (default) or turtle; overrides Accept")] = None,
        strict: Strict = False,
    ) -> Response:
        turtle = format == "turtle" or (format is None and "text/turtle" in request.headers.get("accept", ""))
        body = await request.body()
        out = await service.validate(body, turtle, strict)  # bytes from a card worker
        return Response(out, media_type="text/turtle; charset=utf-8" if turtle else "application/json")

    return api
