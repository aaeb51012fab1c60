"""Named SPARQL queries: ``queries/*.rq``, each with a header saying what it asks and what it takes.

Header (leading ``#`` comment lines; an indented line continues the previous entry)::

    # title: Products by NMPA subclass
    # question: Which catalogue products does N put in each class and subclass?
    # param: subclass (string, optional): an nmpa.subclass code such as viral_vector_gtmp

A parameter is ``NAME (TYPE[, optional | , default VALUE])``; types are ``string``, ``integer``, ``boolean``,
``iri`` (an absolute IRI or a ``prefix:name`` with the project's prefixes) and ``product`` (a card id, bound
as the product's IRI). Without ``optional`` or a default, a parameter is required. A parameter's variable
must be projected by the query (that is how SEP-0007 substitution works) and used in the query's top-level
group, so that it means the same embedded and remote.

Values are never spliced into query text as strings:

* embedded, they are RDF terms handed to pyoxigraph as ``substitutions`` (the query is parsed first, the
  variable then stands for the term);
* remote, they are written as one ``VALUES`` row of RDF terms in N-Triples syntax (pyoxigraph escapes
  them), inserted at the top of the ``WHERE`` group; the bound query is parsed again and its algebra must
  be the original algebra joined with exactly that row, or the query is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from atmp.core.rules import resources as paths
from atmp.core.rules.ontology import PRODUCT_NS

from . import sparql_lexer as lexer
from .results import QueryResult
from .store import KnowledgeGraph
from .terms import PREFIXES, XSD_STRING, KGError, Term

MAX_INTEGER_DIGITS = 18  # an integer parameter fits a signed 64-bit integer (what SPARQL engines compute with)
PARAM_TYPES = ("string", "integer", "boolean", "iri", "product")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CARD_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_VALUE = 1000


class QueryError(KGError):
    """A query that cannot be run as asked: unknown name, bad parameter, malformed header or query."""


class EndpointError(KGError):
    """A remote SPARQL endpoint that cannot be reached or does not answer with SPARQL results."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    required: bool
    default: str | None
    description: str

    def term(self, raw: str) -> Term:
        """Turn a command-line value into an RDF term of the declared type (QueryError if it is not one)."""
        if not isinstance(raw, str):
            raise QueryError(f"parameter {self.name}: expected text, got {type(raw).__name__}")
        if len(raw) > MAX_VALUE:
            raise QueryError(f"parameter {self.name}: value too long ({len(raw)} > {MAX_VALUE} characters)")
        if self.type == "string":
            return ox.Literal(raw)
        if self.type == "integer":
            digits = re.fullmatch(r"[+-]?([0-9]+)", raw.strip())
            if digits and len(digits.group(1)) > MAX_INTEGER_DIGITS:  # a 44-digit year is an integer, just not one any query means
                raise QueryError(f"parameter {self.name}: integer too large ({len(digits.group(1))} digits; at most {MAX_INTEGER_DIGITS})")
            if not digits:
                raise QueryError(f"parameter {self.name}: expected an integer, got {raw[:60]!r}")
            return ox.Literal(int(raw))
        if self.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise QueryError(f"parameter {self.name}: expected true or false, got {raw!r}")
            return ox.Literal(raw.lower() == "true")
        if self.type == "product":
            if not CARD_ID_RE.fullmatch(raw) or ".." in raw:
                raise QueryError(f"parameter {self.name}: expected a product card id, got {raw!r}")
            return ox.NamedNode(str(PRODUCT_NS[raw]))
        return ox.NamedNode(expand_iri(raw, self.name))


def expand_iri(raw: str, name: str = "iri") -> str:
    prefix, _, local = raw.partition(":")
    if prefix in PREFIXES and not local.startswith("//"):
        raw = PREFIXES[prefix] + local
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", raw):
        raise QueryError(f"parameter {name}: expected an absolute IRI or prefix:name ({', '.join(PREFIXES)}), got {raw!r}")
    try:
        return ox.NamedNode(raw).value
    except ValueError as exc:
        raise QueryError(f"parameter {name}: invalid IRI {raw!r}: {exc}") from None


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    question: str
    parameters: tuple[Parameter, ...]
    text: str
    path: Path | None = None

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = f"its parameters: {', '.join(p.name for p in self.parameters)}" if self.parameters else "it takes none"
        raise QueryError(f"query {self.name} has no parameter {name!r}; {known}")

    def bind(self, values: Mapping[str, str] | None = None) -> dict[str, Term]:
        """Check the given values against the declared parameters, apply defaults, return RDF terms."""
        values = dict(values or {})
        for key in values:
            self.parameter(key)
        out: dict[str, Term] = {}
        for p in self.parameters:
            raw = values.get(p.name, p.default)
            if raw is None:
                if p.required:
                    raise QueryError(f"query {self.name} needs --param {p.name}=VALUE ({p.description or p.type})")
                continue
            out[p.name] = p.term(raw)
        return out


HEADER_RE = re.compile(r"^#\s?(?P<key>[a-z]+):\s*(?P<value>.*)$")
PARAM_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<spec>[^)]*)\)\s*:?\s*(?P<desc>.*)$")


def parse_query(text: str, name: str, path: Path | None = None, strict: bool = True) -> NamedQuery:
    """Read a query's header. Raises QueryError naming the file when the header is malformed, or (``strict``,
    as for the named queries) lacks a title or question; an ad-hoc file may go without them."""
    where = str(path) if path else name
    entries: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        m = HEADER_RE.match(stripped)
        if m:
            entries.append([m["key"], m["value"].strip()])
        elif entries and re.match(r"^#\s{2,}\S", stripped):
            entries[-1][1] += " " + stripped[1:].strip()
    title = " ".join(v for k, v in entries if k == "title")
    question = " ".join(v for k, v in entries if k == "question")
    if strict and (not title or not question):
        raise QueryError(f"{where}: the header needs '# title:' and '# question:' lines")
    title = title or name
    params = []
    for key, value in entries:
        if key != "param":
            continue
        m = PARAM_RE.match(value)
        if not m:
            raise QueryError(f"{where}: cannot read parameter line {value!r}; expected NAME (TYPE[, optional | , default VALUE]): description")
        spec = [s.strip() for s in m["spec"].split(",")]
        ptype, required, default = spec[0], True, None
        if ptype not in PARAM_TYPES:
            raise QueryError(f"{where}: parameter {m['name']}: unknown type {ptype!r}; expected one of: {', '.join(PARAM_TYPES)}")
        for item in spec[1:]:
            if item == "optional":
                required = False
            elif item.startswith("default "):
                default, required = item[len("default ") :].strip(), False
            else:
                raise QueryError(f"{where}: parameter {m['name']}: unknown option {item!r}")
        params.append(Parameter(m["name"], ptype, required, default, m["desc"].strip()))
    query = NamedQuery(name, title, question, tuple(params), text, path)
    for p in params:
        if not re.search(rf"[?$]{re.escape(p.name)}\b", text):
            raise QueryError(f"{where}: parameter {p.name} is declared but ?{p.name} does not occur in the query")
        if p.default is not None:
            p.term(p.default)
    return query


def queries_dir() -> Path:
    return paths.queries_dir()


@lru_cache(maxsize=4)
def _load(directory: str, stamp: tuple) -> dict[str, NamedQuery]:
    out = {}
    for path in sorted(Path(directory).glob("*.rq")):
        out[path.stem] = parse_query(_read_query(path), path.stem, path)
    return out


def _read_query(path: Path) -> str:
    """A ``.rq`` file's text: a regular UTF-8 file of bounded size, or QueryError saying why not."""
    from atmp.core.rules.files import FileRefused, read_text

    try:
        return read_text(path, limit=MAX_QUERY_FILE_BYTES, what="query file")
    except FileRefused as exc:
        raise QueryError(str(exc)) from None


MAX_QUERY_FILE_BYTES = 1024 * 1024  # a named query is a few kB; the endpoint refuses query text over 100,000 characters


def load_queries(directory: Path | None = None) -> dict[str, NamedQuery]:
    """Every ``*.rq`` of the queries folder, by file stem (re-read when a file changes)."""
    directory = Path(directory or queries_dir())
    if not directory.is_dir():
        return {}
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(directory.glob("*.rq")))
    return _load(str(directory), stamp)


def get_query(name_or_file: str, directory: Path | None = None) -> NamedQuery:
    """A named query, or a ``.rq`` file given by path."""
    library = load_queries(directory)
    if name_or_file in library:
        return library[name_or_file]
    path = Path(name_or_file)
    if path.suffix == ".rq" or "/" in name_or_file:
        return parse_query(_read_query(path), path.stem, path, strict=False)
    names = ", ".join(library) or "none"
    raise QueryError(f"unknown query {name_or_file!r}; named queries: {names}")


def parse_params(items: list[str]) -> dict[str, str]:
    """``key=value`` strings (from ``--param``) into a dict; QueryError for anything else."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not NAME_RE.fullmatch(key):
            raise QueryError(f"bad --param {item!r}: expected NAME=VALUE")
        if key in out:
            raise QueryError(f"--param {key} given twice")
        out[key] = value
    return out


# --------------------------------------------------------------------------- remote binding


def where_group_start(text: str) -> int:
    """Index of the ``{`` that opens the query's WHERE group, found by the one SPARQL lexer (:mod:`.sparql_lexer`)."""
    start = lexer.where_group_start(text)
    if start is None:
        raise QueryError("cannot find the WHERE group of the query")
    return start


def _rdflib_term(term: Term):
    from rdflib import Literal, URIRef

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise QueryError("only IRIs and literals can be bound to query parameters")


def _canon(node, bnodes: dict):
    """A comparable form of an rdflib algebra tree: derived ``_vars``/``lazy`` left out, blank nodes renamed."""
    from rdflib import BNode
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        return (node.name, tuple(sorted(((str(k), _canon(v, bnodes)) for k, v in node.items() if k not in ("_vars", "lazy")), key=repr)))
    if isinstance(node, dict):
        return ("dict", tuple(sorted(((repr(_canon(k, bnodes)), _canon(v, bnodes)) for k, v in node.items()), key=repr)))
    if isinstance(node, (list, tuple)):
        return tuple(_canon(x, bnodes) for x in node)
    if isinstance(node, (set, frozenset)):
        return ("set", tuple(sorted(repr(_canon(x, bnodes)) for x in node)))
    if isinstance(node, BNode):
        return bnodes.setdefault(node, f"_:b{len(bnodes)}")
    return repr(node)


def _strip_values(node, expected: list[dict], found: list):
    """Replace the first ``Join(ToMultiSet(values == expected), X)`` by ``X``; record what was removed."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        if not found and node.name == "Join":
            left = node.get("p1")
            if isinstance(left, CompValue) and left.name == "ToMultiSet":
                values = left.get("p")
                if isinstance(values, CompValue) and values.name == "values" and values.get("res") == expected:
                    found.append(values)
                    return _strip_values(node.get("p2"), expected, found)
        out = CompValue(node.name)
        for k, v in node.items():
            out[k] = _strip_values(v, expected, found)
        return out
    if isinstance(node, list):
        return [_strip_values(x, expected, found) for x in node]
    return node


def _algebra(text: str):
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        return translateQuery(parseQuery(text)).algebra
    except Exception as exc:  # pyparsing and rdflib raise many types
        raise QueryError(f"cannot parse the query: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


@lru_cache(maxsize=64)
def _shape(text: str):
    """The comparable algebra of a query text (cached: named queries are checked again and again)."""
    return _canon(_algebra(text), {})


def values_block(bindings: Mapping[str, Term]) -> str:
    """One ``VALUES`` row; each term in N-Triples syntax as pyoxigraph writes it (quotes, braces, newlines escaped)."""
    names = sorted(bindings)
    for name in names:
        if not NAME_RE.fullmatch(name):
            raise QueryError(f"invalid variable name {name!r}")
    for name in names:
        _rdflib_term(bindings[name])  # only IRIs and literals
    row = " ".join(str(bindings[n]) for n in names)
    return f"VALUES ({' '.join('?' + n for n in names)}) {{ ({row}) }}"


def verify_bound(original: str, bound: str, bindings: Mapping[str, Term]) -> None:
    """Refuse ``bound`` unless it parses to the algebra of ``original`` joined with exactly one row of ``bindings``."""
    from rdflib import Variable

    expected = [{Variable(n): _rdflib_term(bindings[n]) for n in sorted(bindings)}]
    found: list = []
    stripped = _strip_values(_algebra(bound), expected, found)
    if len(found) != 1 or _canon(stripped, {}) != _shape(original):
        raise QueryError("the parameter values could not be bound without changing the query; refusing to send it")


def bind_values(text: str, bindings: Mapping[str, Term]) -> str:
    """The query with one ``VALUES`` row of ``bindings`` at the top of its WHERE group, checked by re-parsing."""
    if not bindings:
        return text
    block = values_block(bindings)
    start = where_group_start(text)
    bound = f"{text[: start + 1]}\n  {block}\n{text[start + 1 :]}"
    verify_bound(text, bound, bindings)
    return bound


# --------------------------------------------------------------------------- running


def run_embedded(graph: KnowledgeGraph, query: NamedQuery | str, bindings: Mapping[str, Term] | None = None) -> QueryResult:
    text = query.text if isinstance(query, NamedQuery) else query
    try:
        return graph.query(text, bindings)
    except KGError as exc:
        raise QueryError(str(exc)) from None


def run_remote(endpoint: str, query: NamedQuery | str, bindings: Mapping[str, Term] | None = None, timeout: float = 60) -> QueryResult:
    """Run a query on a SPARQL 1.1 endpoint through SPARQLWrapper (POST, JSON results)."""
    import urllib.error
    from http.client import HTTPException

    from SPARQLWrapper import JSON, POST, URLENCODED, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    if not re.match(r"^https?://[^\s/]+", endpoint or ""):
        raise EndpointError(f"endpoint must be an http(s) URL, got {endpoint!r}")
    text = query.text if isinstance(query, NamedQuery) else query
    text = bind_values(text, bindings or {})
    client = SPARQLWrapper(endpoint)
    client.setQuery(text)
    client.setMethod(POST)
    client.setRequestMethod(URLENCODED)
    client.setReturnFormat(JSON)
    client.setTimeout(int(max(1, timeout)))
    try:
        response = client.query()
        raw = response.response.read()
    except SPARQLWrapperException as exc:
        raise EndpointError(f"{endpoint}: {' '.join(str(exc).split())[:300]}") from None
    except urllib.error.HTTPError as exc:
        raise EndpointError(f"{endpoint}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise EndpointError(f"cannot reach {endpoint}: {exc.reason}") from None
    except (TimeoutError, ConnectionError, HTTPException, OSError) as exc:
        raise EndpointError(f"cannot reach {endpoint}: {exc}") from None
    try:
        return QueryResult.from_oxigraph(ox.parse_query_results(raw, format=ox.QueryResultsFormat.JSON))
    except (SyntaxError, ValueError) as exc:
        raise EndpointError(f"{endpoint}: the answer is not SPARQL JSON results ({exc})") from None


def run(query: NamedQuery, params: Mapping[str, str] | None = None, *, graph: KnowledgeGraph | None = None, endpoint: str | None = None, timeout: float = 60) -> QueryResult:
    """Run a named query with checked parameters on the embedded graph, or on ``endpoint`` when given."""
    bindings = query.bind(params)
    if endpoint:
        return run_remote(endpoint, query, bindings, timeout)
    if graph is None:
        raise QueryError("no graph to query")
    return run_embedded(graph, query, bindings)
