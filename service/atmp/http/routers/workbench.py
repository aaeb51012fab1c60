"""The web workbench: pages for regulatory scientists, served by ``atmp serve`` from the same process and engine.

Pages (Jinja2, a little JavaScript, every asset served here: the machines are offline, so no page names another
host): ``/`` describe a product (a form generated from the card schema and the ontology, classified as it is
edited, with the nearest what-if boundaries), ``/catalogue`` and ``/catalogue/{id}``, ``/rules`` (the rule book),
the SPARQL editor (``GET /sparql`` without a query, see :func:`sparql_page`), and ``/docs`` / ``/redoc`` with the
Swagger UI and ReDoc assets of the ``fastapi-offline`` wheel. The pages call the JSON endpoints the API documents
(``POST /classify``, ``POST /validate``, ``POST /whatif``, ``GET /products/{id}``, ``POST /sparql``, …); the ones
added here are ``GET /workbench/form``, ``POST /whatif``, ``GET /queries`` and ``POST /queries/{name}/bind``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from atmp.core.card.decode import decode_bytes
from atmp.core.card.schema import CardError

from .. import workbench_data as data
from ..openapi import card_examples

router = APIRouter()

LANGS = ("en", "zh")
LANG_COOKIE = "atmp_lang"
STATIC = Path(str(files("atmp.http") / "static"))
TEMPLATES = Jinja2Templates(directory=str(files("atmp.http") / "templates"))
# Every page's scripts are files served here (script-src 'self', no inline script, no eval); the data a page needs
# travels in <script type="application/json"> blocks, which are never executed. Styles may be inline (ReDoc and
# Swagger UI set them from script). The Swagger page's one inline start-up script is allowed by its hash alone.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>(.*?)</script>", re.DOTALL)


def csp_for(page: str) -> str:
    """:data:`CSP`, with the hash of each inline script ``page`` runs (the vendored Swagger UI page has one)."""
    hashes = [base64.b64encode(hashlib.sha256(m.group(1).encode("utf-8")).digest()).decode("ascii") for m in _INLINE_SCRIPT.finditer(page)]
    return CSP.replace("script-src 'self'", "script-src 'self'" + "".join(f" 'sha256-{h}'" for h in hashes)) if hashes else CSP


def _vendor_dir() -> Path:
    """Swagger UI and ReDoc as shipped by the ``fastapi-offline`` wheel (no CDN)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def strings() -> dict[str, dict[str, str]]:
    return data.page_words()


def page_lang(request: Request) -> str:
    """``?lang=`` wins, then the cookie the language switch sets, then the browser's ``Accept-Language`` (by weight)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    if request.cookies.get(LANG_COOKIE) in LANGS:
        return request.cookies[LANG_COOKIE]
    best, weight = "en", -1.0
    for item in request.headers.get("accept-language", "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in LANGS and q > weight:
            best, weight = primary, q
    return best


def _service(request: Request):
    return request.app.state.service


class Words:
    """The page's words by name, for the templates: ``t.copy`` is the string of the key ``copy``.

    Jinja looks an attribute up before an item, so with a plain dict ``t.copy`` was the dict's own ``copy``
    method and the button read ``<built-in method copy of dict object at 0x…>``; any key named like a dict
    method (``items``, ``keys``, ``get``, ``update`` …) did the same. A missing key reads as "" (the templates
    fall back with ``or``).
    """

    __slots__ = ("_texts",)

    def __init__(self, texts: dict[str, str]):
        self._texts = texts

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._texts.get(name, "")

    def __getitem__(self, name: str) -> str:
        return self._texts.get(name, "")


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = page_lang(request)
    texts = strings()[lang]
    model = _service(request).model

    def txt(texts: dict | None) -> str:
        texts = texts or {}
        return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")

    def cite(source: str | None) -> Markup:
        """A source literal in words, each piece linked to its text in the rule book (see workbench_data.cite_html)."""
        return Markup(data.cite_html(model, source, lang, local=request.url.path == "/rules"))  # noqa: S704 - built from escaped parts

    def reason(item: dict) -> str:
        """One reason of an explanation entry in words (see workbench_data.reason_text)."""
        return data.reason_text(model, item, lang)

    context = {"lang": lang, "t": Words(texts), "words": texts, "txt": txt, "cite": cite, "reason": reason, "path": request.url.path, **context}
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax")
    response.headers["Content-Security-Policy"] = CSP
    return response


def result_labels(model) -> dict[str, dict[str, dict[str, str]]]:
    """Labels of every result value: ``{field: {code or criterion number: {en, zh}}}`` (for the pages' answer panels)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for rc in model.result_classes:
        # a coded value by its code, a criterion by its number, a yes/no field (the regimes' flags) under "true"
        key = rc.code if rc.code is not None else (str(rc.number) if rc.number is not None else "true")
        if key is not None:
            out.setdefault(rc.field, {})[key] = {**rc.label, "source": rc.source}
    out.update(data.vocabulary_labels())  # agency and status codes of the catalogue's provenance
    return out


# ============================================================================================ pages
@router.get("/", include_in_schema=False)
def describe_page(request: Request) -> HTMLResponse:
    service = _service(request)
    catalogue = sorted(((cid, e["card"].get("label", {})) for cid, e in service.products.items()), key=lambda x: (x[1].get("en") or x[0]).lower())
    lang = page_lang(request)
    return _render(
        request, "describe.html", form=data.form_spec(service.model), catalogue=catalogue, labels=result_labels(service.model), citations=data.page_citations(service.model, lang)
    )


@router.get("/catalogue", include_in_schema=False)
def catalogue_page(request: Request) -> HTMLResponse:
    service = _service(request)
    lang = page_lang(request)
    summaries = [service.product_summary(cid) for cid in service.products]
    return _render(request, "catalogue.html", products=summaries, filters=data.catalogue_filters(summaries, service.model, lang), labels=result_labels(service.model))


@router.get("/catalogue/{product_id}", include_in_schema=False)
def product_page(request: Request, product_id: Annotated[str, PathParam(max_length=128)]) -> HTMLResponse:
    service = _service(request)
    if product_id not in service.products:
        return _render(request, "notfound.html", status=404, what=product_id)
    entry = service.products[product_id]
    card = {k: v for k, v in entry["card"].items() if k != "provenance"}
    return _render(
        request,
        "product.html",
        pid=product_id,
        card=card,
        card_json=json.dumps(card, ensure_ascii=False, indent=2),
        provenance=entry["card"].get("provenance") or {},
        decisions=data.provenance_decisions(service.model, entry["card"].get("provenance") or {}, entry["result"]),
        result=entry["result"],
        labels=result_labels(service.model),
    )


@router.get("/rules", include_in_schema=False)
def rules_page(request: Request) -> HTMLResponse:
    service = _service(request)
    lang = page_lang(request)
    names = {cid: e["card"].get("label", {}) for cid, e in service.products.items()}
    return _render(
        request, "rules.html", book=data.rule_book(service.model, service.products, lang), names=names, version=service.model.version_iri, version_info=service.model.version_info
    )


def sparql_page(request: Request) -> HTMLResponse:
    """``GET /sparql`` without a query, from a browser: the editor with the named queries (as rdflib-endpoint does)."""
    from atmp.core.rules.ontology import PRODUCT_NS

    return _render(request, "sparql.html", queries=_queries_json(), product_ns=str(PRODUCT_NS))


def wants_page(request: Request) -> bool:
    """A browser asking for ``/sparql`` with no query gets the editor; API clients keep the protocol's 400."""
    return "text/html" in request.headers.get("accept", "")


@router.get("/docs", include_in_schema=False)
def swagger(request: Request) -> HTMLResponse:
    html = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="ATMP-KG API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/vendor/favicon.png",
    )
    return HTMLResponse(html.body, headers={"Content-Security-Policy": csp_for(html.body.decode("utf-8"))})


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    html = get_redoc_html(
        openapi_url="/openapi.json", title="ATMP-KG API", redoc_js_url="/static/vendor/redoc.standalone.js", redoc_favicon_url="/static/vendor/favicon.png", with_google_fonts=False
    )
    return HTMLResponse(html.body, headers={"Content-Security-Policy": csp_for(html.body.decode("utf-8"))})


# ReDoc's bundle renders a "powered by" logo from its CDN and links to its site: offline, both point here instead.
REDOC_OFFLINE = {"https://cdn.redoc.ly/redoc/logo-mini.svg": "/static/vendor/favicon.png", "https://redocly.com/redoc/": "/redoc"}


@cache
def _redoc_bundle() -> bytes:
    text = (_vendor_dir() / "redoc.standalone.js").read_text(encoding="utf-8")
    for online, offline in REDOC_OFFLINE.items():
        text = text.replace(online, offline)
    return text.encode("utf-8")


@router.get("/static/{asset:path}", include_in_schema=False)
def static(asset: str) -> Response:
    """The pages' own assets and the vendored API-docs assets; nothing outside these two folders is served."""
    base, rest = (_vendor_dir(), asset[len("vendor/") :]) if asset.startswith("vendor/") else (STATIC, asset)
    if asset == "vendor/redoc.standalone.js":
        return Response(_redoc_bundle(), media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})
    target = (base / rest).resolve()
    if not rest or not target.is_file() or not target.is_relative_to(base.resolve()):
        return JSONResponse(status_code=404, content={"detail": f"no asset {asset!r}"})
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})


# ============================================================================================ JSON the pages use
@router.get("/workbench/form", tags=["workbench"], summary="The card form: every field with its labels, help, codes, default and the conditions that require it")
def form(request: Request) -> dict:
    """Generated from the card schema, the ontology (labels, definitions, defaults) and the SHACL shapes (conditional fields)."""
    return data.form_spec(_service(request).model)


WHATIF_RESPONSE = {
    200: {
        "description": "The card's result and, per boundary (exclusion, class, subclass, subcategory, tier) and new value, the smallest coherent "
        "changes that reach it, each with the rule that would conclude the new value",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "result": {"type": "object"},
                        "variants": {"type": "integer"},
                        "nearest": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "boundary": {"type": "string"},
                                    "field": {"type": "string"},
                                    "from": {},
                                    "to": {},
                                    "size": {"type": "integer"},
                                    "options": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "text": {"type": "string"},
                                                "changes": {
                                                    "type": "array",
                                                    "items": {
                                                        "type": "object",
                                                        "properties": {
                                                            "field": {"type": "string"},
                                                            "op": {"enum": ["set", "add", "remove"]},
                                                            "value": {},
                                                            "field_label": {"type": "object"},
                                                            "value_label": {"type": "object"},
                                                        },
                                                    },
                                                },
                                                "rule": {"type": ["object", "null"]},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                        "ranked": {
                            "type": "array",
                            "description": "Every coherent change that crosses a boundary, once, with all the boundaries it crosses, in the order a sponsor "
                            "reads them (atmp.analysis.whatif.ranked): changes that keep the kind of product first, those that stay in scope and move the "
                            "tier or the subclass first among them",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "text": {"type": "string"},
                                    "changes": {"type": "array"},
                                    "size": {"type": "integer"},
                                    "keeps_nature": {"type": "boolean"},
                                    "plausible": {"type": "boolean"},
                                    "crosses": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {"boundary": {"type": "string"}, "field": {"type": "string"}, "from": {}, "to": {}, "rule": {"type": ["object", "null"]}},
                                        },
                                    },
                                },
                            },
                        },
                        "unreached": {"type": "array"},
                    },
                }
            }
        },
    },
    422: {"description": "The body is not one card of the contract (`loc` names the field)"},
}


@router.post(
    "/whatif",
    tags=["cards"],
    summary="What if? The nearest classification boundaries of one card",
    responses=WHATIF_RESPONSE,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProductCard"}, "examples": card_examples(one_only=True)}}}
    },
)
async def whatif_endpoint(
    request: Request,
    max_pairs: Annotated[int, Query(ge=0, le=500, description="bound of the search over pairs of changes")] = 150,
    options: Annotated[int, Query(ge=1, le=50, description="at most this many options per boundary and value")] = 6,
) -> Response:
    """As ``atmp whatif``: every single-field change classified in one batch, then pairs where no single change reaches a neighbour."""
    body = await request.body()
    return Response(await _service(request).whatif(body, max_pairs, options), media_type="application/json")  # made by a card worker


@router.post(
    "/similar",
    tags=["cards"],
    summary="Precedents: the catalogue's real products nearest to one card as the rules see it",
    responses={
        200: {
            "description": "As `atmp similar --format json`: the k nearest precedents (rank, id, label, distance, decisions with the card's own answer on "
            "each field, answers, differences in words with the conclusions each moves) and red flags where a near precedent's published decision "
            "and the card's answer differ"
        },
        422: {"description": "The body is not one card of the contract (`loc` names the field), or `regime` is not one of the ontology's"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProductCard"}, "examples": card_examples(one_only=True)}}}
    },
)
async def similar_endpoint(
    request: Request,
    k: Annotated[int, Query(ge=1, le=50, description="how many precedents")] = 5,
    regime: Annotated[str | None, Query(description="weigh facts and conclusions under one regime only (n, t, eu, us, jp)", max_length=16)] = None,
) -> Response:
    """As ``atmp similar``: distances from the rules, differences in words, red flags."""
    body = await request.body()
    return Response(await _service(request).similar(body, k, regime), media_type="application/json")  # made by a card worker


@cache
def _queries_cached(stamp: tuple) -> list[dict]:
    from atmp.kg.queries import load_queries

    return [
        {
            "name": q.name,
            "title": q.title,
            "question": q.question,
            "text": q.text,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default, "description": p.description} for p in q.parameters],
        }
        for q in load_queries().values()
    ]


def _queries_json() -> list[dict]:
    from atmp.kg.queries import queries_dir

    directory = queries_dir()
    return _queries_cached(tuple((p.name, p.stat().st_mtime) for p in sorted(directory.glob("*.rq"))))


@router.get("/queries", tags=["sparql"], summary="The named queries (queries/*.rq): title, question, parameters and text")
def queries() -> dict:
    return {"queries": _queries_json()}


@router.post(
    "/workbench/decode",
    tags=["workbench"],
    summary="A card file as the service reads it: the workbench's upload goes through the one JSON decoder",
    responses={200: {"description": "The decoded JSON value (a card or an array of them) unchanged"}, 422: {"description": "Not JSON the service accepts; `loc` names the field"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
)
async def decode_upload(request: Request) -> Response:
    """The file's bytes decoded as every card input is (duplicate keys at any depth, NaN, deep nesting, huge
    integers, lone surrogates refused with the field named), so an upload never means less than the same file
    given to ``atmp classify`` (the browser's JSON.parse keeps the last of two duplicate keys). A draft need not
    be a complete card: the contract is checked when the form is classified."""
    body = await request.body()
    return Response(await _service(request).decode(body), media_type="application/json")  # decoded in a card worker


BIND_EXPECTED = "a JSON object of parameter values by name"
BIND_MAX_BYTES = 64 * 1024  # a few parameter values; decoding that much on the event loop takes well under a millisecond


@router.post(
    "/queries/{name}/bind",
    tags=["sparql"],
    summary="A named query with its parameters bound (one VALUES row), ready for POST /sparql",
    responses={404: {"description": "No named query of this name"}, 422: {"description": "A parameter is unknown, missing or not of its type; `loc` names it"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "parameter values by name (as `atmp query --param NAME=VALUE`): text, a whole number or true/false",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}},
                    "examples": {"subclass": {"value": {"subclass": "viral_vector_gtmp"}}, "year": {"value": {"year": 2020}}},
                }
            },
        }
    },
)
async def bind(name: Annotated[str, PathParam(max_length=128)], request: Request) -> Response:
    from atmp.kg.queries import QueryError, bind_values, load_queries

    library = load_queries()
    if name not in library:
        return JSONResponse(status_code=404, content={"detail": f"no named query {name!r}"})
    query = library[name]
    params = _bind_params(decode_bytes(await request.body(), limit=BIND_MAX_BYTES, what="body", expected=BIND_EXPECTED))  # small: decoded here
    try:
        bindings = query.bind({k: v for k, v in params.items() if v != ""})
        text = bind_values(query.text, bindings) if bindings else query.text
    except QueryError as exc:
        field = next((p.name for p in query.parameters if p.name in str(exc)), None)
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", *([field] if field else [])], "msg": str(exc), "type": "query_error"}]})
    return JSONResponse({"name": name, "query": text})


def _bind_params(data: Any) -> dict[str, str]:
    """The decoded body of ``/queries/{name}/bind`` as ``--param`` texts: a JSON number or boolean is taken as
    written (``{"year": 2020}`` is ``year=2020``); anything else is refused naming the parameter."""
    if not isinstance(data, dict):
        raise CardError("", f"expected {BIND_EXPECTED}, got {type(data).__name__}")
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str | int):
            out[key] = str(value)
        elif value is not None:
            raise CardError(key, f"expected text, a whole number or true/false, got {type(value).__name__}")
    return out
