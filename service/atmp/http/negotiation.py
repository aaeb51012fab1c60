"""Content negotiation for SPARQL results: ``Accept`` (with q-values, aliases and wildcards) or a ``format`` name.

SELECT/ASK results are offered as ``application/sparql-results+json`` (default), ``+xml``, ``text/csv`` and
``text/tab-separated-values``; CONSTRUCT/DESCRIBE as ``text/turtle`` (default), ``application/n-triples``,
``application/rdf+xml`` and ``application/ld+json``. No type fits: 406.
"""

from __future__ import annotations

from atmp.kg.results import SOLUTION_TYPES

from .guard import SparqlError

__all__ = ["FORMAT_NAMES", "GRAPH_TYPES", "SOLUTION_TYPES", "negotiate"]

GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/rdf+xml": "rdfxml",
    "application/ld+json": "jsonld",
}
# Common aliases a client may send in Accept, per kind of result.
SOLUTION_ALIASES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml", "text/xml": "application/sparql-results+xml"}
GRAPH_ALIASES = {"text/plain": "application/n-triples", "application/x-turtle": "text/turtle", "application/json": "application/ld+json"}
FORMAT_NAMES = {**{v: k for k, v in SOLUTION_TYPES.items()}, **{v: k for k, v in GRAPH_TYPES.items()}}


def _accept_ranges(accept: str) -> list[tuple[float, int, str]]:
    """``Accept`` as (quality, -order, media range), best first."""
    out = []
    for order, part in enumerate(accept.split(",")):
        items = [p.strip() for p in part.split(";")]
        media = items[0].lower()
        if not media:
            continue
        q = 1.0
        for param in items[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            out.append((q, -order, media))
    out.sort(reverse=True)
    return out


def negotiate(graph_result: bool, accept: str | None, fmt: str | None = None) -> tuple[str, str]:
    """(media type, format name) for a result: ``fmt`` (a format name) wins over ``Accept``; 406 when none fits."""
    offered = GRAPH_TYPES if graph_result else SOLUTION_TYPES
    kind = "CONSTRUCT/DESCRIBE" if graph_result else "SELECT/ASK"
    if fmt:
        media = FORMAT_NAMES.get(fmt.lower())
        if media is None:
            raise SparqlError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMAT_NAMES)}")
        if media not in offered:
            raise SparqlError(f"format {fmt!r} does not fit a {kind} result; expected one of: {', '.join(offered.values())}", status=406)
        return media, offered[media]
    default = next(iter(offered))
    if not accept or not accept.strip():
        return default, offered[default]
    for _, _, media in _accept_ranges(accept):
        media = (GRAPH_ALIASES if graph_result else SOLUTION_ALIASES).get(media, media)
        if media in offered:
            return media, offered[media]
        if media == "*/*":
            return default, offered[default]
        if media.endswith("/*"):
            major = media[:-1]
            for candidate in offered:
                if candidate.startswith(major):
                    return candidate, offered[candidate]
    raise SparqlError(f"none of the types in Accept fits a {kind} result; this endpoint gives: {', '.join(offered)}", status=406)
