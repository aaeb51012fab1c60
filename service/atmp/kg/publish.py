"""Publishing the knowledge graph to a triple store through the SPARQL 1.1 Graph Store HTTP Protocol.

Each named graph is sent with ``PUT <endpoint>?graph=<graph IRI>`` as Turtle. PUT replaces the graph's
whole content, so publishing again (after a rule change, or the same graph twice) never duplicates
triples, and the three graphs stay separate on the server.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException

from .store import KnowledgeGraph
from .terms import GRAPHS, KGError

CONTENT_TYPE = "text/turtle; charset=utf-8"


class PublishError(KGError):
    """The Graph Store endpoint cannot be reached or refused a graph."""


@dataclass(frozen=True)
class Published:
    graph: str
    triples: int
    bytes: int
    status: int
    seconds: float


def graph_url(endpoint: str, graph_iri: str) -> str:
    """The Graph Store Protocol URL of one named graph (indirect identification, ``?graph=``)."""
    sep = "&" if urllib.parse.urlsplit(endpoint).query else "?"
    return f"{endpoint}{sep}{urllib.parse.urlencode({'graph': graph_iri})}"


def _check_endpoint(endpoint: str) -> None:
    if not re.match(r"^https?://[^\s/]+", endpoint or ""):
        raise PublishError(f"endpoint must be an http(s) URL, got {endpoint!r}")


def put_graph(endpoint: str, graph_iri: str, body: bytes, timeout: float = 120) -> int:
    request = urllib.request.Request(graph_url(endpoint, graph_iri), data=body, method="PUT", headers={"Content-Type": CONTENT_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        detail = " ".join(exc.read(300).decode("utf-8", "replace").split())
        raise PublishError(f"{endpoint}: HTTP {exc.code} {exc.reason} for graph <{graph_iri}>" + (f": {detail}" if detail else "")) from None
    except urllib.error.URLError as exc:
        raise PublishError(f"cannot reach {endpoint}: {exc.reason}") from None
    except (TimeoutError, ConnectionError, HTTPException, OSError) as exc:
        raise PublishError(f"cannot reach {endpoint}: {exc}") from None


def publish(graph: KnowledgeGraph, endpoint: str, timeout: float = 120) -> list[Published]:
    """PUT the ontology, asserted and inferred graphs; returns what was sent, graph by graph."""
    _check_endpoint(endpoint)
    out = []
    counts = graph.counts()
    for name, node in GRAPHS.items():
        t = time.perf_counter()
        body = graph.serialize("turtle", name)
        status = put_graph(endpoint, node.value, body, timeout)
        out.append(Published(node.value, counts[name], len(body), status, time.perf_counter() - t))
    return out
