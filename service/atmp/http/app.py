"""The HTTP lookup service: classify, validate, browse the classified catalogue and the taxonomy, read-only SPARQL.

``create_app(settings)`` loads the ontology, builds the knowledge graph of the catalogue (classified with the
compiled engine, which the tests hold to HermiT's answers) and returns a FastAPI application; ``atmp serve``
runs it with uvicorn. Nothing is loaded per request and no Java process is started: ``POST /classify`` and
``POST /validate`` run :func:`atmp.classify.classify_cards` with ``engine="compiled"``, the same code path as
``atmp classify --engine compiled``.

Bad input never reaches a 500: schema errors are 422 with the field path in ``loc`` (``["body", 3,
"substance", "kind"]``), bodies over the size limit 413 (also when chunked: bytes are counted as they
arrive), batches over the card limit 413, bad SPARQL 400. An unexpected failure is logged server-side
with its traceback and answered with a generic JSON 500 that names an incident id, never the traceback.
"""

import copy
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from rdflib import RDFS, URIRef
from starlette.exceptions import HTTPException as StarletteHTTPException

from atmp import __version__
from atmp.core import resources
from atmp.core.card import CardError, load_cards

log = logging.getLogger("atmp.service")

Lang = Literal["en", "zh"]


# ============================================================================================ settings
@dataclass(frozen=True)
class Settings:
    """Service limits; each can be set by an environment variable (``ATMP_…``) or an ``atmp serve`` flag."""

    max_batch: int = 1000  # cards per POST /classify or /validate
    max_body_bytes: int = 4 * 1024 * 1024  # request body, counted as it arrives
    sparql_timeout: float = 10.0  # seconds per query (and for a free worker)
    sparql_max_results: int = 10_000  # solutions or triples per query
    sparql_workers: int = 2  # worker processes holding the graph
    ontology: Path | None = None
    catalogue: Path | None = None

    ENV = {
        "max_batch": "ATMP_MAX_BATCH",
        "max_body_bytes": "ATMP_MAX_BODY_BYTES",
        "sparql_timeout": "ATMP_SPARQL_TIMEOUT",
        "sparql_max_results": "ATMP_SPARQL_MAX_RESULTS",
        "sparql_workers": "ATMP_SPARQL_WORKERS",
    }

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_body_bytes", "sparql_max_results", "sparql_workers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not isinstance(self.sparql_timeout, int | float) or not 0 < self.sparql_timeout < 86_400:
            raise ValueError(f"sparql_timeout must be a number of seconds above 0 and below a day, got {self.sparql_timeout!r}")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then environment variables, then ``overrides`` that are not None (the CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            kind = float if name == "sparql_timeout" else int
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(f"{var}: expected {'a number' if kind is float else 'an integer'}, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def public(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("ontology", "catalogue")}


def _jvm_started() -> bool:
    jpype = sys.modules.get("jpype")
    return bool(jpype is not None and jpype.isJVMStarted())


def _json(data: Any, status: int = 200) -> Response:
    """JSON by orjson (results are plain dicts; several times faster than json.dumps on a result's explanations)."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


# ============================================================================================ errors
class TooLarge(Exception):
    """413: a body over the byte limit or a batch over the card limit."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
    """422 in FastAPI's shape; ``field`` is the path as the CLI prints it (``[3].substance.kind``)."""
    where = exc.field if exc.index is None else f"[{exc.index}].{exc.field}" if exc.field else f"[{exc.index}]"
    return JSONResponse(status_code=422, content={"detail": [{"loc": _loc(exc), "msg": exc.detail, "type": "card_error", "field": where}]})


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, from ``Content-Length`` or by counting chunks as they arrive."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body too large: the limit is {self.max_bytes} bytes"
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await JSONResponse(status_code=400, content={"detail": "invalid Content-Length header"})(scope, receive, send)
                    return
                if length > self.max_bytes:
                    await JSONResponse(status_code=413, content={"detail": message})(scope, receive, send)
                    return
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(message)
            return msg

        async def tracked_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except TooLarge as exc:
            if started:
                raise
            await JSONResponse(status_code=413, content={"detail": exc.message})(scope, receive, send)


# ============================================================================================ the service state
class Service:
    """What the endpoints share: the ontology, the classified catalogue, the SPARQL workers. Loaded once."""

    def __init__(self, settings: Settings):
        from atmp.core.classify import classify_cards
        from atmp.core.ontology import load_model
        from atmp.kg.graph import PREFIXES, KnowledgeGraph

        from .sparql import SparqlPool

        t0 = time.perf_counter()
        self.settings = settings
        self.model = load_model(settings.ontology)
        self._classify_cards = classify_cards
        self.kg = KnowledgeGraph.build(engine="compiled", model=self.model, catalogue=settings.catalogue)
        self.products = {card["id"]: {"card": card, "result": self.kg.results[card["id"]]} for card in self.kg.cards}
        self.pool = SparqlPool(self.kg.serialize("nq"), size=settings.sparql_workers, timeout=settings.sparql_timeout,
                               max_results=settings.sparql_max_results, prefixes=PREFIXES)
        # The compiled evaluator keeps per-projection caches; one batch at a time keeps them consistent.
        # (Classification is CPU-bound Python, so the lock costs no throughput under the GIL.)
        self._lock = threading.Lock()
        self.codes = {f: sorted(rc.code for rc in self.model.result_classes if rc.field == f and rc.code) for f in ("nmpa.subclass", "tianjin.risk_tier", "borderline")}
        self.startup_seconds = time.perf_counter() - t0

    # -- cards in
    def parse(self, body: bytes) -> tuple[list[dict], bool]:
        """Body -> validated cards; CardError (422) naming the field, TooLarge (413) for too many cards."""
        if len(body) > self.settings.max_body_bytes:
            raise TooLarge(f"request body too large: the limit is {self.settings.max_body_bytes} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CardError("", f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
        if not text.strip():
            raise CardError("", "empty body: expected one product card (a JSON object) or a JSON array of cards")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CardError("", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:
            raise CardError("", f"unusable JSON: {type(exc).__name__}") from None
        if isinstance(data, list) and len(data) > self.settings.max_batch:
            raise TooLarge(f"too many cards ({len(data)} > {self.settings.max_batch}); split the batch")
        return load_cards(data)

    def classify(self, body: bytes, explain: str = "full") -> Any:
        cards, was_array = self.parse(body)
        with self._lock:
            results = self._classify_cards(cards, engine="compiled", model=self.model, explain=explain)
        return results if was_array else results[0]

    def validate(self, body: bytes, turtle: bool) -> tuple[Any, bool]:
        from atmp.core.classify import memberships_for
        from atmp.core.validate import bilingual_report, shacl_report, validate_cards

        cards, was_array = self.parse(body)
        with self._lock:
            memberships = memberships_for(cards, engine="compiled", model=self.model)
            if turtle:
                report = bilingual_report(self.model, shacl_report(self.model, cards, memberships))
                return report.serialize(format="turtle"), True
            reports = validate_cards(self.model, cards, memberships)
        return (reports if was_array else reports[0]), False

    # -- catalogue
    def product_summary(self, card_id: str) -> dict:
        entry = self.products[card_id]
        card, result = entry["card"], entry["result"]
        return {
            "id": card_id,
            "label": card.get("label", {}),
            "provenance": card.get("provenance"),
            "atmp": result["atmp"],
            "exclusion": result["exclusion"],
            "nmpa": result["nmpa"],
            "tianjin": result["tianjin"],
            "borderline": [b["code"] for b in result["borderline"]],
            "conforms": result["conforms"],
        }

    def find_products(self, subclass: str | None, tier: str | None, borderline: str | None) -> list[dict]:
        out = []
        for card_id, entry in self.products.items():
            result = entry["result"]
            if subclass is not None and result["nmpa"]["subclass"] != subclass:
                continue
            if tier is not None and (result["tianjin"]["risk_tier"] or "none") != tier:
                continue
            codes = {b["code"] for b in result["borderline"]}
            if borderline == "true" and not codes or borderline == "false" and codes:
                continue
            if borderline not in (None, "true", "false") and borderline not in codes:
                continue
            out.append(self.product_summary(card_id))
        return out

    # -- the taxonomy
    def _text(self, texts: dict[str, str], lang: str) -> str:
        return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")

    def _node(self, iri: URIRef, lang: str, rc=None) -> dict:
        return {
            "iri": str(iri),
            "name": str(iri).rsplit("/", 1)[-1].rsplit("#", 1)[-1],
            "field": rc.field if rc else None,
            "code": rc.code if rc else None,
            "label": self._text(self.model.label(iri), lang),
            "definition": self._text(self.model.definition(iri), lang),
            "source": self.model.source(iri),
        }

    def _named_parent(self, iri: URIRef) -> URIRef | None:
        from atmp.core.ontology import ATMP

        parents = sorted(p for p in self.model.graph.objects(iri, RDFS.subClassOf) if isinstance(p, URIRef) and p != ATMP.Product)
        return parents[0] if parents else None

    TREE_FIELDS = ("atmp", "exclusion", "nmpa.class", "nmpa.subclass", "tianjin.category", "tianjin.subcategory", "tianjin.risk_tier")
    TIER_ORDER = {"high": 0, "medium": 1, "low": 2}

    def classes(self, lang: str) -> list[dict]:
        """The result classes as trees under their named superclasses (NMPA scope and classes, exclusions,
        Tianjin categories, subcategories and tiers), read from the ontology's annotations."""
        result_classes = {rc.iri: rc for rc in self.model.result_classes if rc.field in self.TREE_FIELDS}
        nodes: dict[URIRef, dict] = {}
        parent_of: dict[URIRef, URIRef | None] = {}
        todo = list(result_classes)
        while todo:
            iri = todo.pop()
            if iri in nodes:
                continue
            nodes[iri] = {**self._node(iri, lang, result_classes.get(iri)), "children": []}
            parent = self._named_parent(iri)
            parent_of[iri] = parent
            if parent is not None and parent not in nodes:
                todo.append(parent)
        field_rank = {f: i for i, f in enumerate(self.TREE_FIELDS)}

        def rank(node: dict) -> tuple:
            fld = node["field"] or min((c["field"] or "" for c in node["children"]), key=lambda f: field_rank.get(f, 99), default="")
            return (field_rank.get(fld, 99), self.TIER_ORDER.get(node["code"], 9), node["code"] or "", node["name"])

        roots = []
        for iri, node in nodes.items():
            parent = parent_of[iri]
            (nodes[parent]["children"] if parent in nodes else roots).append(node)
        for node in nodes.values():
            node["children"].sort(key=rank)
        roots.sort(key=rank)
        return roots

    def criteria(self, lang: str) -> list[dict]:
        out = []
        for rc in self.model.result_classes:
            if rc.field != "tianjin.criteria" or rc.number is None:
                continue
            group = self._named_parent(rc.iri)
            out.append({
                "number": rc.number,
                **{k: v for k, v in self._node(rc.iri, lang, rc).items() if k not in ("field", "code")},
                "group": None if group is None else {"iri": str(group), "name": str(group).rsplit("/", 1)[-1], "label": self._text(self.model.label(group), lang)},
            })
        out.sort(key=lambda c: c["number"])
        return out

    def close(self) -> None:
        self.pool.close()


# ============================================================================================ OpenAPI
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
    "properties": {"detail": {"type": "array", "items": {"type": "object", "required": ["loc", "msg"], "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"}, "type": {"type": "string"}, "field": {"type": "string"}}}}},
}


def _error(description: str, schema: dict = ERROR) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _card_body(settings: Settings) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
        CARD_REF, {"type": "array", "items": CARD_REF, "minItems": 1, "maxItems": settings.max_batch}]}}},
        "description": f"One product card (product-card.schema.json) or a JSON array of at most {settings.max_batch} cards with distinct ids."}}


BAD_INPUT = {
    413: _error("Body over the byte limit or more cards than the batch limit"),
    422: _error("A card fails the contract schema: `loc` is the path of the field", FIELD_ERROR),
}


# ============================================================================================ the application
def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """The FastAPI application; loads the ontology and the catalogue now (once), starts SPARQL workers on start-up."""
    settings = settings or Settings.from_env()
    service = service or Service(settings)
    from .sparql import GRAPH_TYPES, SOLUTION_TYPES

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.pool.start(reopen=True)
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="ATMP-KG lookup service",
        version=__version__,
        description=(
            "Classify advanced therapy product cards under Chinese regulation (NMPA draft N and Tianjin standard T), "
            "validate them with SHACL, browse the classified catalogue and the taxonomy, and query the knowledge graph "
            f"with read-only SPARQL. Limits: {settings.max_batch} cards per request, {settings.max_body_bytes} bytes per body, "
            f"SPARQL {settings.sparql_timeout:g} s and {settings.sparql_max_results} results per query."
        ),
        lifespan=lifespan,
        debug=False,
    )
    app.state.service = service
    app.state.settings = settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    # -- errors: JSON, never a traceback
    @app.exception_handler(CardError)
    async def card_error(request: Request, exc: CardError):
        return _card_error(exc)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge):
        return JSONResponse(status_code=413, content={"detail": exc.message})

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError):
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        incident = uuid.uuid4().hex[:12]
        log.error("incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error; the service logged it", "incident": incident})

    from .routers.report import router as report_router  # POST /report

    app.include_router(report_router)

    # -- classify and validate
    @app.post("/classify", tags=["cards"], summary="Classify one card or a list of cards",
              openapi_extra=_card_body(settings),
              responses={200: {"description": "The result of `atmp classify`: one result for one card, a list for a list",
                               "content": {"application/json": {"schema": {"oneOf": [RESULT_REF, {"type": "array", "items": RESULT_REF}]}}}}, **BAD_INPUT})
    async def classify(request: Request, explain: Literal["full", "brief", "none"] = "full") -> JSONResponse:
        """Same answers as `atmp classify --engine compiled` (and, as the tests prove, as the HermiT reference).

        `?explain=brief`: only the deciding reasons per conclusion; `none`: no explanations; `full` (default): the whole walk.
        """
        body = await request.body()
        return _json(await run_in_threadpool(service.classify, body, explain))

    @app.post("/validate", tags=["cards"], summary="SHACL report of one card or a list of cards",
              openapi_extra=_card_body(settings),
              responses={200: {"description": "JSON: per card `{id, conforms, violations, warnings}` (as `atmp validate`); "
                                              "Turtle (`Accept: text/turtle` or `format=turtle`): the standard sh:ValidationReport with messages in zh and en",
                               "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
                                           "text/turtle": {"schema": {"type": "string"}}}}, **BAD_INPUT})
    async def validate(request: Request, format: Annotated[Literal["json", "turtle"] | None, Query(description="json (default) or turtle; overrides Accept")] = None) -> Response:
        turtle = format == "turtle" or (format is None and "text/turtle" in request.headers.get("accept", ""))
        body = await request.body()
        out, is_turtle = await run_in_threadpool(service.validate, body, turtle)
        if is_turtle:
            return Response(out, media_type="text/turtle; charset=utf-8")
        return _json(out)

    # -- the catalogue
    Subclass = Literal[tuple(service.codes["nmpa.subclass"])]  # type: ignore[valid-type]
    Tier = Literal[tuple([*service.codes["tianjin.risk_tier"], "none"])]  # type: ignore[valid-type]
    Borderline = Literal[tuple(["true", "false", *service.codes["borderline"]])]  # type: ignore[valid-type]

    @app.get("/products", tags=["catalogue"], summary="The classified catalogue, filtered",
             responses={200: {"description": "`count` and the products (id, label, provenance and the result's classification fields; "
                                             "`borderline` as codes). GET /products/{id} has the full result."}})
    def products(
        subclass: Annotated[Subclass | None, Query(description="NMPA subclass code (nmpa.subclass)")] = None,  # type: ignore[valid-type]
        tier: Annotated[Tier | None, Query(description="Tianjin risk tier; `none` for products without one")] = None,  # type: ignore[valid-type]
        borderline: Annotated[Borderline | None, Query(description="`true`: with any borderline entry, `false`: with none, or a borderline code")] = None,  # type: ignore[valid-type]
    ) -> dict:
        found = service.find_products(subclass, tier, borderline)
        return {"count": len(found), "products": found}

    @app.get("/products/{product_id}", tags=["catalogue"], summary="One catalogue product: its card, provenance and full result",
             responses={404: _error("No product with this id in the catalogue")})
    def product(product_id: Annotated[str, PathParam(description="The card id", max_length=128)]) -> dict:
        if product_id not in service.products:
            raise StarletteHTTPException(404, f"no product with id {product_id!r} in the catalogue")
        entry = service.products[product_id]
        card = {k: v for k, v in entry["card"].items() if k != "provenance"}
        return {"id": product_id, "label": card.get("label", {}), "provenance": entry["card"].get("provenance"), "card": card, "result": entry["result"]}

    # -- the taxonomy
    @app.get("/classes", tags=["taxonomy"], summary="The taxonomy: NMPA scope, classes and subclasses, exclusions, Tianjin categories, subcategories and tiers")
    def classes(lang: Annotated[Lang, Query(description="language of labels and definitions")] = "en") -> dict:
        return {"lang": lang, "ontology": service.model.version_iri, "roots": service.classes(lang)}

    @app.get("/criteria", tags=["taxonomy"], summary="The 14 Tianjin risk criteria (T 6) with label, definition and source")
    def criteria(lang: Annotated[Lang, Query(description="language of labels and definitions")] = "en") -> dict:
        return {"lang": lang, "ontology": service.model.version_iri, "criteria": service.criteria(lang)}

    # -- SPARQL
    sparql_responses = {
        200: {"description": "SELECT/ASK: application/sparql-results+json (default), application/sparql-results+xml, text/csv, text/tab-separated-values; "
                             "CONSTRUCT/DESCRIBE: text/turtle (default), application/n-triples, application/rdf+xml, application/ld+json",
              "content": {t: {"schema": {"type": "object"} if "json" in t else {"type": "string"}} for t in [*SOLUTION_TYPES, *GRAPH_TYPES]}},
        400: _error("Not a SPARQL query, an update or a SERVICE clause (refused: read-only, no federated queries), or more results than the limit"),
        406: _error("No type in Accept fits the query's result"),
        413: _error("Body over the byte limit"),
        415: _error("POST body is neither application/x-www-form-urlencoded nor application/sparql-query"),
        503: _error(f"The query exceeded the time limit ({settings.sparql_timeout:g} s) or every worker is busy"),
    }
    QueryText = Annotated[str | None, Query(description="the SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE)")]
    Format = Annotated[str | None, Query(description="result format, overriding Accept: json, xml, csv, tsv, turtle, ntriples, rdfxml, jsonld")]
    DefaultGraphs = Annotated[list[str] | None, Query(alias="default-graph-uri", description="graph(s) forming the default graph (default: the union of all graphs)")]
    NamedGraphs = Annotated[list[str] | None, Query(alias="named-graph-uri", description="named graph(s) the query may use with GRAPH")]

    def _reply(request_fields: dict, accept: str | None) -> Response:
        reply = service.pool.run({**request_fields, "accept": accept})
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers)

    @app.get("/sparql", tags=["sparql"], summary="SPARQL 1.1 Protocol query (read-only)", responses=sparql_responses)
    async def sparql_get(
        request: Request,
        query: QueryText = None,
        format: Format = None,
        default_graph_uri: DefaultGraphs = None,
        named_graph_uri: NamedGraphs = None,
    ) -> Response:
        if "update" in request.query_params:
            return JSONResponse(status_code=400, content={"detail": "SPARQL Update is refused: this endpoint is read-only"})
        if query is None:
            return JSONResponse(status_code=400, content={"detail": "missing query: give a SPARQL query in the 'query' parameter"})
        fields_ = {"query": query, "format": format, "default_graph": default_graph_uri, "named_graphs": named_graph_uri}
        return await run_in_threadpool(_reply, fields_, request.headers.get("accept"))

    @app.post("/sparql", tags=["sparql"], summary="SPARQL 1.1 Protocol query by POST (form or application/sparql-query body; read-only)",
              responses=sparql_responses,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["query"], "properties": {
                      "query": {"type": "string"}, "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                      "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
                  "application/sparql-query": {"schema": {"type": "string"}}}}})
    async def sparql_post(
        request: Request,
        format: Format = None,
        default_graph_uri: DefaultGraphs = None,
        named_graph_uri: NamedGraphs = None,
    ) -> Response:
        from urllib.parse import parse_qs

        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if media == "application/sparql-update":
            return JSONResponse(status_code=400, content={"detail": "SPARQL Update is refused: this endpoint is read-only"})
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse(status_code=400, content={"detail": "the body is not UTF-8"})
        if media == "application/sparql-query":
            fields_ = {"query": text, "format": format, "default_graph": default_graph_uri, "named_graphs": named_graph_uri}
        elif media == "application/x-www-form-urlencoded":
            form = parse_qs(text, keep_blank_values=True)
            if "update" in form:
                return JSONResponse(status_code=400, content={"detail": "SPARQL Update is refused: this endpoint is read-only"})
            if not form.get("query"):
                return JSONResponse(status_code=400, content={"detail": "missing query: give a SPARQL query in the 'query' form field"})
            fields_ = {"query": form["query"][0], "format": format or (form.get("format") or [None])[0],
                       "default_graph": form.get("default-graph-uri") or default_graph_uri, "named_graphs": form.get("named-graph-uri") or named_graph_uri}
        else:
            return JSONResponse(status_code=415, content={"detail": "send the query as application/x-www-form-urlencoded (query=...) or as application/sparql-query"})
        return await run_in_threadpool(_reply, fields_, request.headers.get("accept"))

    # -- health
    @app.get("/health", tags=["service"], summary="Liveness and what is loaded")
    def health() -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "ontology": service.model.version_iri,
            "engine": "compiled",
            "java_started": _jvm_started(),  # the compiled engine never starts one
            "products": len(service.products),
            "sparql_workers": {"ready": service.pool.ready, "size": service.pool.size, "restarts": service.pool.restarts},
            "limits": settings.public(),
            "startup_seconds": round(service.startup_seconds, 3),
        }

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["ProductCard"] = _schema("product-card.schema.json")
            components["ClassificationResult"] = _schema("result.schema.json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Run the service with uvicorn (one process; the SPARQL workers are its children)."""
    import uvicorn

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    log.info("ATMP-KG service: %d products, ontology %s, loaded in %.2f s; limits %s", len(app.state.service.products),
             app.state.service.model.version_iri, app.state.service.startup_seconds, json.dumps(asdict(settings), default=str))
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
