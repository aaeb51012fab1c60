"""``POST /report``: the committee document of ``atmp report`` over HTTP (HTML or Markdown, zh/en/both).

The same :func:`atmp.analysis.report.gather` and :func:`~atmp.analysis.report.render` as the command;
cards are parsed by the service (422 naming the field, 413 over the limits, as for ``/classify``).
The format comes from ``?format=`` or else from ``Accept`` (``text/markdown`` gives Markdown, anything
else HTML). One card answers one document; an array answers the documents joined (Markdown: a rule
between them; HTML: one page per product, each a section that starts a new printed page).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..openapi import CARD_REF, card_examples

router = APIRouter()

MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


def _format(request: Request, fmt: str | None) -> str:
    if fmt:
        return fmt
    accept = request.headers.get("accept", "")
    return "md" if "text/markdown" in accept or "text/x-markdown" in accept else "html"


async def build_report(service, body: bytes, lang: str, fmt: str) -> str:
    """Each card's report made by a card worker (gathered and rendered there, a card per job), then joined here."""
    from atmp.analysis.report import html_page

    pages = await service.report(body, lang, fmt)
    if fmt == "md":
        return "\n\n---\n\n".join(pages)
    if len(pages) == 1:
        return pages[0]
    bodies = [p.split("<body>", 1)[1].rsplit("</body>", 1)[0] for p in pages]
    return html_page("ATMP-KG reports", "\n".join(bodies), "zh" if lang != "en" else "en")


@router.post(
    "/report",
    tags=["cards"],
    summary="Committee report of one card or a list of cards (HTML or Markdown)",
    responses={
        200: {"description": "The `atmp report` document", "content": {"text/html": {}, "text/markdown": {}}},
        413: {"description": "Body or batch over the limit"},
        422: {"description": "A card fails the contract; `loc` names the field"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One product card (product-card.schema.json) or a JSON array of cards with distinct ids.",
            "content": {"application/json": {"schema": {"oneOf": [CARD_REF, {"type": "array", "items": CARD_REF, "minItems": 1}]}, "examples": card_examples()}},
        }
    },
)
async def report(request: Request, lang: Literal["zh", "en", "both"] = "both", format: Literal["md", "html"] | None = None) -> Response:  # noqa: A002 - the query parameter's public name
    """Same document as `atmp report`: description, conclusions with citations, reasons, borderline, nearest boundaries, SHACL, traceability."""
    fmt = _format(request, format)
    body = await request.body()
    text = await build_report(request.app.state.service, body, lang, fmt)
    from atmp.analysis.report import CSP

    # no script, no request anywhere: the header says so for the HTML (and for Markdown a browser might sniff)
    return Response(content=text, media_type=MEDIA[fmt], headers={"Content-Security-Policy": CSP + "; frame-ancestors 'none'", "X-Content-Type-Options": "nosniff"})
