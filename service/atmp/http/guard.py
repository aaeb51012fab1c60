"""The read-only SPARQL guard: refuse updates and ``SERVICE`` before a query reaches the engine.

:func:`check_read_only` refuses SPARQL Update (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``, ``DROP``,
``CREATE``, ``ADD``, ``MOVE``, ``COPY``, ``WITH``) and any ``SERVICE`` clause (which would make the server
fetch an arbitrary URL: pyoxigraph does run federated queries). Two independent readings must both find
none: the bare words of the query as the one SPARQL lexer (:mod:`atmp.kg.sparql_lexer`) reads them
(comments, strings and IRIs skipped, so they can neither hide a keyword nor trigger a false refusal;
``\\u`` escapes expanded first, as the SPARQL grammar says) and the algebra of the query as rdflib parses
it (``ServiceGraphPattern`` anywhere in the tree). Only then does pyoxigraph parse and evaluate it.
"""

from __future__ import annotations

from functools import lru_cache

from atmp.kg.sparql_lexer import bare_words, expand_unicode_escapes

UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
MAX_QUERY_CHARS = 100_000


class SparqlError(Exception):
    """A request the endpoint answers with an error status (never a 500)."""

    status = 400

    def __init__(self, message: str, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class QueryRefused(SparqlError):
    """An update or a SERVICE clause: this endpoint is read-only and fetches nothing."""


def _algebra_names(node, seen: set[int] | None = None) -> set[str]:
    """Names of every algebra/parse node in rdflib's query tree."""
    from rdflib.plugins.sparql.parserutils import CompValue

    seen = seen if seen is not None else set()
    if id(node) in seen:
        return set()
    seen.add(id(node))
    names: set[str] = set()
    if isinstance(node, CompValue):
        names.add(node.name)
        for value in node.values():
            names |= _algebra_names(value, seen)
    elif isinstance(node, dict):
        for value in node.values():
            names |= _algebra_names(value, seen)
    elif isinstance(node, list | tuple | set):
        for value in node:
            names |= _algebra_names(value, seen)
    return names


def check_read_only(text: str) -> str:
    """Refuse (:class:`QueryRefused`) an update or a SERVICE clause; return the query form
    (``SelectQuery``, ``AskQuery``, ``ConstructQuery`` or ``DescribeQuery``). Raises :class:`SparqlError` for
    text that is not a SPARQL query."""
    if not isinstance(text, str) or not text.strip():
        raise SparqlError("missing query: give a SPARQL query in the 'query' parameter")
    if len(text) > MAX_QUERY_CHARS:
        raise SparqlError(f"query too long ({len(text)} > {MAX_QUERY_CHARS} characters)")
    if "\x00" in text:
        raise SparqlError("invalid SPARQL: NUL character in the query")
    words = {w.upper() for w in bare_words(text)} | {w.upper() for w in bare_words(expand_unicode_escapes(text))}
    if "SERVICE" in words:
        raise QueryRefused("SERVICE is refused: this endpoint does not run federated queries (it would make the server fetch a URL)")
    updates = sorted(words.intersection(UPDATE_KEYWORDS))
    if updates:
        raise QueryRefused(f"SPARQL Update ({', '.join(updates)}) is refused: this endpoint is read-only")
    form, names = _algebra(text)
    if "ServiceGraphPattern" in names:
        raise QueryRefused("SERVICE is refused: this endpoint does not run federated queries (it would make the server fetch a URL)")
    return form


@lru_cache(maxsize=256)
def _algebra(text: str) -> tuple[str, frozenset[str]]:
    """(query form, names of every node of its algebra) as rdflib reads the query; cached, because rdflib's
    parser takes tens of milliseconds and a dashboard asks the same queries again and again."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(text))
    except RecursionError:
        raise SparqlError("invalid SPARQL: the query is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - pyparsing and rdflib raise many types for bad text
        raise SparqlError(f"invalid SPARQL: {_first_line(exc)}") from None
    return algebra.algebra.name, frozenset(_algebra_names(algebra.algebra))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:500]
