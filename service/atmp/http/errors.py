"""Error handling: every failure is a JSON answer with a status that says whose fault it is, never a traceback.

Schema errors are 422 with the field path in ``loc`` (``["body", 3, "substance", "kind"]``), bodies or
batches over a limit 413, bad SPARQL 400. An unexpected failure is logged server-side with its traceback
and answered with a generic JSON 500 that names an incident id.
"""

import json
import logging
import re
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from atmp.core.card.schema import CardError

from .limits import TooLarge
from .scheduler import TooSlow

log = logging.getLogger("atmp.service")


def _loc(exc: CardError) -> list:
    """``CardError`` -> the JSON path of the offending value, FastAPI-style: ``["body", 3, "substance", "kind"]``."""
    loc: list = ["body"]
    if exc.index is not None:
        loc.append(exc.index)
    for m in _PATH_PART.finditer(exc.field or ""):
        loc.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
    return loc


_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _card_error(exc: CardError) -> JSONResponse:
    """422 in FastAPI's shape, one entry per problem of the card (all at once, so a form shows each beside its field):
    ``field`` is the path as the CLI prints it (``[3].substance.kind``), ``message`` the problem in words in en and
    zh, ``suggestion`` what to type instead when there is one (the nearest valid id, the code a misspelt one meant)."""
    detail = []
    for problem in exc.problems:
        entry = {"loc": _loc(problem), "msg": problem.detail, "type": "card_error", "field": problem.where, "message": problem.words}
        if problem.suggestion is not None:
            entry["suggestion"] = problem.suggestion
        detail.append(entry)
    return SafeJSONResponse(status_code=422, content={"detail": detail})


class SafeJSONResponse(JSONResponse):
    """JSON that can always be sent: text that UTF-8 cannot carry (a lone surrogate echoed from the input) is
    written as ``\\uXXXX`` escapes instead of failing the reply with a 500."""

    def render(self, content) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for card errors (422), size limits (413), request validation (422), HTTP errors and the rest (500)."""

    @app.exception_handler(CardError)
    async def card_error(request: Request, exc: CardError):
        return _card_error(exc)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge):
        return SafeJSONResponse(status_code=413, content={"detail": exc.message})

    @app.exception_handler(TooSlow)
    async def too_slow(request: Request, exc: TooSlow):
        return SafeJSONResponse(status_code=503, content={"detail": exc.message}, headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError):
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return SafeJSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return SafeJSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        incident = uuid.uuid4().hex[:12]
        log.error("incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc)
        return SafeJSONResponse(status_code=500, content={"detail": "internal error; the service logged it", "incident": incident})
