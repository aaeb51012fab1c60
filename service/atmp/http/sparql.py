"""A read-only SPARQL 1.1 Protocol endpoint over the knowledge graph, safe to expose.

Three things make it safe:

* **read-only** — :func:`check_read_only` refuses SPARQL Update (``INSERT``, ``DELETE``, ``LOAD``,
  ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``, ``MOVE``, ``COPY``, ``WITH``) and any ``SERVICE`` clause (which would
  make the server fetch an arbitrary URL: pyoxigraph does run federated queries). Two independent
  readings must both find none: a scan of the query's tokens (comments, strings and IRIs skipped, so
  they can neither hide a keyword nor trigger a false refusal; ``\\u`` escapes expanded first, as the
  SPARQL grammar says) and the algebra of the query as rdflib parses it (``ServiceGraphPattern`` anywhere
  in the tree). Only then does pyoxigraph, the engine that runs it, parse and evaluate it.
* **bounded in time** — pyoxigraph cannot cancel a query, so queries run in worker *processes*
  (:class:`SparqlPool`, each holding its own copy of the dataset): a query that exceeds the time limit
  is abandoned by killing its worker, and a fresh worker takes its place.
* **bounded in size** — at most ``max_results`` solutions (or triples for ``CONSTRUCT``/``DESCRIBE``); a
  query that would return more is refused with 400 and a message saying to add ``LIMIT``. Refused, not
  truncated: a silently cut table (say, in a CSV opened in a spreadsheet) is easy to mistake for the
  whole answer.

Results by content negotiation (``Accept``, or a ``format`` parameter): ``application/sparql-results+json``
(default), ``application/sparql-results+xml``, ``text/csv``, ``text/tab-separated-values`` for ``SELECT``/``ASK``;
``text/turtle`` (default), ``application/n-triples``, ``application/rdf+xml``, ``application/ld+json`` for
``CONSTRUCT``/``DESCRIBE``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

log = logging.getLogger("atmp.service.sparql")

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# media type -> (format name, is it for solutions (SELECT/ASK) or graphs (CONSTRUCT/DESCRIBE))
SOLUTION_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
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
GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES, "rdfxml": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}

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


# ============================================================================================ the guard
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_IRIREF = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_NAME_CHARS = re.compile(r"[^\s<>\"'{}()\[\],;#=!&|*/+^]+")


def expand_unicode_escapes(text: str) -> str:
    """``\\uXXXX`` and ``\\UXXXXXXXX`` replaced by the character, as SPARQL 1.1 §19.2 does before parsing."""

    def repl(m: re.Match) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else m.group(0)

    return _UNICODE_ESCAPE.sub(repl, text)


def _skip_string(text: str, i: int) -> int | None:
    """Index just past the string literal starting at ``text[i]``, or None when it does not close properly."""
    quote = text[i]
    long = text.startswith(quote * 3, i)
    j = i + (3 if long else 1)
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if long:
            if text.startswith(quote * 3, j):
                return j + 3
        elif ch == quote:
            return j + 1
        elif ch in "\r\n":
            return None  # a short string cannot span lines
        j += 1
    return None


def bare_words(text: str) -> list[str]:
    """The words of a query that are neither inside a comment, a string, an IRI, a variable nor a prefixed name.

    In a read query these can only be keywords and function names. Anything this scan cannot read as a
    closed string or IRI is scanned as code, so an odd quote can only cause a refusal, never hide a word.
    """
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "\"'":
            end = _skip_string(text, i)
            i = i + 1 if end is None else end
        elif ch == "<":
            m = _IRIREF.match(text, i)
            i = m.end() if m else i + 1
        else:
            m = _NAME_CHARS.match(text, i)
            if not m:
                i += 1
                continue
            token = m.group(0)
            i = m.end()
            if token[0] in "?$" or ":" in token:
                continue  # a variable, a prefixed name or a blank node label
            words.extend(w for w in re.split(r"[.\-]", token) if w)
    return words


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


# ============================================================================================ negotiation
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


# ============================================================================================ serialisation
def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject), "predicate": _json_term(term.predicate), "object": _json_term(term.object)}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Escaped for XML 1.0; the few characters XML 1.0 cannot carry at all (NUL, most C0 controls) become U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", text))


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}</predicate><object>{_xml_term(term.object)}</object></triple>"
    if term.language:
        return f"<literal xml:lang={quoteattr(_NOT_XML.sub('', term.language))}>{_xml_text(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{_xml_text(term.value)}</literal>"
    return f"<literal>{_xml_text(term.value)}</literal>"


def _csv_term(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    return str(term)


def _tsv_term(term) -> str:
    """A term in its N-Triples form (which escapes line breaks and tabs in literals), as the TSV format asks."""
    if term is None:
        return ""
    return str(term).replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def serialize_solutions(variables: list[str], rows: list[list], fmt: str) -> bytes:
    """SELECT results (rows of terms or None, in ``variables`` order) in one of the W3C result formats."""
    if fmt == "json":
        bindings = [{v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None} for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}}, ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
        out.append("</head>\n<results>\n")
        for row in rows:
            out.append("<result>")
            out.extend(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>" for v, t in zip(variables, row, strict=True) if t is not None)
            out.append("</result>\n")
        out.append("</results>\n</sparql>\n")
        return "".join(out).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_csv_term(t) for t in row] for row in rows)
        return buf.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines.extend("\t".join(_tsv_term(t) for t in row) for row in rows)
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(fmt)


def serialize_boolean(value: bool, fmt: str) -> bytes:
    text = "true" if value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if fmt == "xml":
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head/>\n<boolean>{text}</boolean>\n</sparql>\n').encode()
    if fmt == "csv":
        return f"_askResult\r\n{text}\r\n".encode()
    if fmt == "tsv":
        return f"?_askResult\n{text}\n".encode()
    raise ValueError(fmt)


# ============================================================================================ running a query
@dataclass
class Reply:
    """What the endpoint sends back: status, media type, body, extra headers."""

    status: int
    media_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, exc: SparqlError) -> Reply:
        return cls(exc.status, "application/json", json.dumps({"detail": exc.message}, ensure_ascii=False).encode("utf-8"), dict(exc.headers))


def _graphs(values) -> list[ox.NamedNode]:
    out = []
    for value in values or []:
        try:
            out.append(ox.NamedNode(value))
        except (ValueError, TypeError):
            raise SparqlError(f"invalid graph IRI {str(value)[:200]!r}") from None
    return out


def execute(store: ox.Store, request: dict, prefixes: dict[str, str] | None = None) -> Reply:
    """Check, run and serialise one query (what a worker process does for each request)."""
    try:
        text = request.get("query")
        check_read_only(text)
        default_graph = _graphs(request.get("default_graph"))
        named_graphs = _graphs(request.get("named_graphs"))
        max_results = int(request.get("max_results", 10_000))
        try:
            result = store.query(
                text,
                use_default_graph_as_union=not default_graph,
                default_graph=default_graph or None,
                named_graphs=named_graphs or None,
            )
        except SyntaxError as exc:
            raise SparqlError(f"invalid SPARQL: {_first_line(exc)}") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise SparqlError(f"cannot run the query: {_first_line(exc)}") from None
        graph_result = isinstance(result, ox.QueryTriples)
        media, fmt = negotiate(graph_result, request.get("accept"), request.get("format"))
        too_many = SparqlError(f"the query returns more than {max_results} results; add LIMIT (and OFFSET to page) or ask for less", status=400)
        try:
            if isinstance(result, ox.QueryBoolean):
                body = serialize_boolean(bool(result), fmt)
            elif graph_result:
                triples = []
                for triple in result:
                    if len(triples) >= max_results:
                        raise too_many
                    triples.append(triple)
                body = ox.serialize(triples, format=GRAPH_FORMATS[fmt], prefixes=prefixes if fmt == "turtle" else None)
            else:
                variables = [v.value for v in result.variables]
                rows = []
                for solution in result:
                    if len(rows) >= max_results:
                        raise too_many
                    rows.append([solution[v] for v in variables])
                body = serialize_solutions(variables, rows, fmt)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SparqlError(f"cannot run the query: {_first_line(exc)}") from None
        charset = "; charset=utf-8" if media.startswith("text/") else ""
        return Reply(200, media + charset, body)
    except SparqlError as exc:
        return Reply.error(exc)


def load_store(dataset: bytes) -> ox.Store:
    store = ox.Store()
    store.load(input=dataset, format=ox.RdfFormat.N_QUADS)
    return store


def _watch_parent(parent: int) -> None:
    """A worker must not outlive the service (its query may run long): exit when the parent is gone."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def worker_main(read_fd: int, write_fd: int, parent: int) -> None:
    """A worker process (``python -c "...worker_main(r, w, ppid)"``): receive the dataset and prefixes, load
    them, say ready, then answer requests one at a time until None or the end of the pipe."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    dataset, prefixes = inbox.recv_bytes(), inbox.recv()
    store = load_store(dataset)
    del dataset
    check_read_only("ASK {}")  # import and warm the parser before saying ready
    outbox.send("ready")
    while True:
        try:
            request = inbox.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply = execute(store, request, prefixes)
        except Exception as exc:  # noqa: BLE001 - the worker answers every request; the parent logs it
            reply = Reply(500, "application/json", json.dumps({"detail": "internal error while running the query", "error": type(exc).__name__}).encode())
        outbox.send(reply)


# ============================================================================================ the pool
class _Worker:
    """One worker process and its two pipe ends.

    A plain subprocess (not :mod:`multiprocessing`), so that starting one never re-imports the host program's
    ``__main__`` (a notebook, a script without a main guard, a test runner)."""

    def __init__(self, dataset: bytes, prefixes: dict[str, str]):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        # the folder that holds the ``atmp`` package (site-packages or a checkout's service/), wherever this module sits
        package_root = str(Path(sys.modules["atmp"].__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([package_root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
        code = f"from atmp.http.sparql import worker_main; worker_main({to_child_r}, {from_child_w}, {os.getpid()})"
        try:
            self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.outbox = Connection(to_child_w, readable=False)
        self.inbox = Connection(from_child_r, writable=False)
        self.outbox.send_bytes(dataset)
        self.outbox.send(prefixes)

    def kill(self) -> None:
        for action in (self.process.kill, lambda: self.process.wait(5), self.outbox.close, self.inbox.close):
            try:
                action()
            except Exception:  # noqa: BLE001 - best effort
                pass


class SparqlPool:
    """Worker processes that each hold the dataset and run one query at a time, killed on a time-out.

    ``run`` waits up to ``timeout`` seconds for a free worker (503 with ``Retry-After`` if none), then up to
    ``timeout`` seconds for its answer (503 when exceeded: the worker is killed and replaced). Safe to
    call from many threads.
    """

    STARTUP_TIMEOUT = 120.0

    def __init__(self, dataset: bytes, *, size: int = 2, timeout: float = 10.0, max_results: int = 10_000, prefixes: dict[str, str] | None = None):
        self.dataset = dataset
        self.size = max(1, size)
        self.timeout = timeout
        self.max_results = max_results
        self.prefixes = dict(prefixes or {})
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self.restarts = 0

    # -- lifecycle
    def start(self, reopen: bool = False) -> None:
        """Start the workers (in the background: each loads the dataset, about a second); ``reopen`` after ``close``."""
        with self._lock:
            if reopen and self._closed:
                self._closed, self._started = False, False
            if self._started or self._closed:
                return
            self._started = True
        for _ in range(self.size):
            self._spawn_async()

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, name="sparql-worker-start", daemon=True).start()

    def _spawn(self) -> None:
        for attempt in range(3):
            if self._closed:
                return
            try:
                worker = _Worker(self.dataset, self.prefixes)
            except Exception:  # noqa: BLE001 - logged; the next attempt may succeed
                log.exception("cannot start a SPARQL worker (attempt %d)", attempt + 1)
                time.sleep(0.5)
                continue
            try:
                ready = worker.inbox.poll(self.STARTUP_TIMEOUT) and worker.inbox.recv() == "ready"
            except (EOFError, OSError):
                ready = False
            if ready:
                with self._lock:
                    if not self._closed:
                        self._workers.add(worker)
                        self._idle.put(worker)
                        return
                worker.kill()
                return
            log.error("a SPARQL worker did not start (attempt %d)", attempt + 1)
            worker.kill()
            time.sleep(0.5)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            closed = self._closed
        worker.kill()
        if not closed:
            self.restarts += 1
            self._spawn_async()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            try:
                worker.outbox.send(None)
            except Exception:  # noqa: BLE001 - it may be gone already
                pass
        for worker in workers:
            try:
                worker.process.wait(1)
            except subprocess.TimeoutExpired:
                pass
            worker.kill()

    @property
    def ready(self) -> int:
        with self._lock:
            return len(self._workers)

    # -- queries
    def run(self, request: dict) -> Reply:
        if self._closed:
            return Reply.error(SparqlError("the SPARQL endpoint is shutting down", status=503))
        self.start()
        request = {**request, "max_results": self.max_results}
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            return Reply.error(SparqlError(f"all {self.size} SPARQL workers are busy; try again", status=503, headers={"Retry-After": "1"}))
        try:
            worker.outbox.send(request)
            if not worker.inbox.poll(self.timeout):
                self._discard(worker)
                return Reply.error(SparqlError(f"the query exceeded the time limit of {self.timeout:g} s and was stopped; narrow it down or add LIMIT", status=503))
            reply = worker.inbox.recv()
        except (EOFError, OSError, ValueError) as exc:
            log.error("SPARQL worker failed: %s", exc)
            self._discard(worker)
            return Reply.error(SparqlError("the query stopped its worker; it was restarted", status=503))
        self._idle.put(worker)
        if reply.status >= 500:
            log.error("SPARQL worker error: %s", reply.body[:500])
        return reply
