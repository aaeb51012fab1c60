"""The read-only SPARQL 1.1 Protocol endpoint as a router of its own, the way rdflib-endpoint's ``SparqlRouter`` is.

``SparqlRouter(pool)`` mounts ``GET`` and ``POST`` on ``/sparql`` (or ``path``) for any
:class:`~atmp.http.pool.SparqlPool`; ``app.include_router(SparqlRouter(pool))`` is all another FastAPI app
needs. The guard, the time and size limits and the result formats live in the pool's workers, so the router
only reads the protocol's parameters.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from ..negotiation import GRAPH_TYPES, SOLUTION_TYPES
from ..openapi import error_doc
from ..pool import SparqlPool

QueryText = Annotated[str | None, Query(description="the SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE)")]
Format = Annotated[str | None, Query(description="result format, overriding Accept: json, xml, csv, tsv, turtle, ntriples, rdfxml, jsonld")]
DefaultGraphs = Annotated[list[str] | None, Query(alias="default-graph-uri", description="graph(s) forming the default graph (default: the union of all graphs)")]
NamedGraphs = Annotated[list[str] | None, Query(alias="named-graph-uri", description="named graph(s) the query may use with GRAPH")]

READ_ONLY = "SPARQL Update is refused: this endpoint is read-only"


def responses(timeout: float) -> dict:
    return {
        200: {
            "description": "SELECT/ASK: application/sparql-results+json (default), application/sparql-results+xml, text/csv, text/tab-separated-values; "
            "CONSTRUCT/DESCRIBE: text/turtle (default), application/n-triples, application/rdf+xml, application/ld+json",
            "content": {t: {"schema": {"type": "object"} if "json" in t else {"type": "string"}} for t in [*SOLUTION_TYPES, *GRAPH_TYPES]},
        },
        400: error_doc("Not a SPARQL query, an update or a SERVICE clause (refused: read-only, no federated queries), or more results than the limit"),
        406: error_doc("No type in Accept fits the query's result"),
        413: error_doc("Body over the byte limit"),
        415: error_doc("POST body is neither application/x-www-form-urlencoded nor application/sparql-query"),
        503: error_doc(f"The query exceeded the time limit ({timeout:g} s) or every worker is busy"),
    }


POST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["query"],
                    "properties": {
                        "query": {"type": "string"},
                        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
            "application/sparql-query": {"schema": {"type": "string"}},
        },
    }
}


class SparqlRouter(APIRouter):
    """GET and POST ``path`` answering SPARQL 1.1 Protocol queries through ``pool`` (read-only, time- and size-bounded)."""

    def __init__(self, pool: SparqlPool, *, path: str = "/sparql", tags: list[str] | None = None, page: Callable[[Request], Response | None] | None = None, **kwargs):
        """``page``, when given, answers a GET without a query (e.g. the workbench's SPARQL editor for a browser);
        it returns None to leave the request to the protocol's 400, as rdflib-endpoint's router does."""
        super().__init__(**kwargs)
        self.pool = pool
        tags = tags or ["sparql"]
        documented = responses(pool.timeout)

        async def reply(request_fields: dict, accept: str | None) -> Response:
            # the pool queues the request without holding a thread (bounded; 503 + Retry-After when full)
            answer = await pool.submit({**request_fields, "accept": accept})
            return Response(answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers)

        @self.get(path, tags=tags, summary="SPARQL 1.1 Protocol query (read-only)", responses=documented)
        async def sparql_get(
            request: Request,
            query: QueryText = None,
            format: Format = None,
            default_graph_uri: DefaultGraphs = None,
            named_graph_uri: NamedGraphs = None,
        ) -> Response:
            if "update" in request.query_params:
                return JSONResponse(status_code=400, content={"detail": READ_ONLY})
            if query is None:
                shown = page(request) if page is not None else None
                if shown is not None:
                    return shown
                return JSONResponse(status_code=400, content={"detail": "missing query: give a SPARQL query in the 'query' parameter"})
            fields_ = {"query": query, "format": format, "default_graph": default_graph_uri, "named_graphs": named_graph_uri}
            return await reply(fields_, request.headers.get("accept"))

        @self.post(path, tags=tags, summary="SPARQL 1.1 Protocol query by POST (form or application/sparql-query body; read-only)", responses=documented, openapi_extra=POST_BODY)
        async def sparql_post(
            request: Request,
            format: Format = None,
            default_graph_uri: DefaultGraphs = None,
            named_graph_uri: NamedGraphs = None,
        ) -> Response:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            body = await request.body()
            if media == "application/sparql-update":
                return JSONResponse(status_code=400, content={"detail": READ_ONLY})
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return JSONResponse(status_code=400, content={"detail": "the body is not UTF-8"})
            if media == "application/sparql-query":
                fields_ = {"query": text, "format": format, "default_graph": default_graph_uri, "named_graphs": named_graph_uri}
            elif media == "application/x-www-form-urlencoded":
                form = parse_qs(text, keep_blank_values=True)
                if "update" in form:
                    return JSONResponse(status_code=400, content={"detail": READ_ONLY})
                if not form.get("query"):
                    return JSONResponse(status_code=400, content={"detail": "missing query: give a SPARQL query in the 'query' form field"})
                fields_ = {
                    "query": form["query"][0],
                    "format": format or (form.get("format") or [None])[0],
                    "default_graph": form.get("default-graph-uri") or default_graph_uri,
                    "named_graphs": form.get("named-graph-uri") or named_graph_uri,
                }
            else:
                return JSONResponse(status_code=415, content={"detail": "send the query as application/x-www-form-urlencoded (query=...) or as application/sparql-query"})
            return await reply(fields_, request.headers.get("accept"))
