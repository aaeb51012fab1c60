"""The knowledge graph: the ontology, the product catalogue and what the rules infer, in one embedded store.

Three named graphs keep what was written apart from what was concluded:

* ``https://w3id.org/atmp-kg/graph/ontology`` — the rules (``ontology/atmp.ttl``, or the file given with
  ``--ontology``) and the small vocabulary of provenance and result terms (``catalogue/kg-vocabulary.ttl``);
* ``.../graph/asserted`` — what the product cards say, as plain triples (the same facts SHACL validates,
  see :func:`atmp.validate.data_graph`), plus labels (``rdfs:label`` @en/@zh) and provenance
  (``dcterms:source``, status, approvals by agency and year);
* ``.../graph/inferred`` — each product's classification: ``rdf:type`` of every named result class it
  belongs to (ATMP or exclusion, NMPA class and subclass, Tianjin category, subcategory, criteria, tier,
  borderline situations), and the result's borderline entries, violations and explanations as resources.

The inferred graph is built from :func:`atmp.classify.classify_cards` results, so any engine can fill it;
the result classes are found through the ontology's own ``atmp:resultField``/``atmp:resultCode``/
``atmp:criterionNumber`` annotations, never through names known to Python.

:class:`KnowledgeGraph` builds the store once and answers SPARQL with safely bound parameters; it is
meant to be kept and shared (queries only read; pyoxigraph stores are safe to query from several threads).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import BNode as RBNode
from rdflib import Literal as RLiteral
from rdflib import URIRef

from atmp.core import resources as paths
from atmp.core.card import CardError, parse_cards
from atmp.core.ontology import ATMP, PRODUCT_NS, OntologyModel, load_model

BASE = "https://w3id.org/atmp-kg/"
GRAPH_NS = BASE + "graph/"
KG_NS = BASE + "kg/"
GRAPH_NAMES = ("ontology", "asserted", "inferred")
GRAPHS = {name: ox.NamedNode(GRAPH_NS + name) for name in GRAPH_NAMES}

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
DCT_NS = "http://purl.org/dc/terms/"

PREFIXES = {
    "atmp": str(ATMP),
    "product": str(PRODUCT_NS),
    "kg": KG_NS,
    "graph": GRAPH_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": XSD_NS,
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": DCT_NS,
}

EXPORT_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "trig": ox.RdfFormat.TRIG, "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS}
QUAD_FORMATS = ("trig", "nq")

CATALOGUE_FILE = "products.json"
VOCABULARY_FILE = "kg-vocabulary.ttl"

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def _iri(ns: str, local: str) -> ox.NamedNode:
    return ox.NamedNode(ns + local)


RDF_TYPE = _iri(RDF_NS, "type")
RDFS_LABEL = _iri(RDFS_NS, "label")
RDFS_COMMENT = _iri(RDFS_NS, "comment")
DCT_SOURCE = _iri(DCT_NS, "source")
XSD_STRING = _iri(XSD_NS, "string")


def kg(local: str) -> ox.NamedNode:
    return _iri(KG_NS, local)


class KGError(ValueError):
    """Unusable input for the knowledge graph (missing file, unknown format, invalid SPARQL...)."""


# --------------------------------------------------------------------------- vocabulary and catalogue


def catalogue_file() -> Path:
    return paths.catalogue_dir() / CATALOGUE_FILE


def vocabulary_file() -> Path:
    """The provenance/result vocabulary; falls back to the project's when a catalogue folder has none."""
    path = paths.catalogue_dir() / VOCABULARY_FILE
    return path if path.is_file() else paths.packaged("catalogue") / VOCABULARY_FILE


@dataclass(frozen=True)
class Vocabulary:
    """The knowledge-graph vocabulary file: its triples, and the agency and status codes it defines."""

    path: Path
    triples: tuple[ox.Triple, ...]
    agencies: dict[str, ox.NamedNode]
    statuses: dict[str, ox.NamedNode]
    certainties: dict[str, ox.NamedNode] = field(default_factory=dict)  # of published decisions (atmp.kg.decisions)


@lru_cache(maxsize=4)
def _load_vocabulary(path: str, mtime: float) -> Vocabulary:
    try:
        triples = tuple(ox.parse(path=path, format=ox.RdfFormat.TURTLE))
    except (OSError, SyntaxError) as exc:
        raise KGError(f"cannot read vocabulary {path}: {exc}") from None
    types = {(t.subject, t.object) for t in triples if t.predicate == RDF_TYPE}
    codes = {t.subject: t.object.value for t in triples if t.predicate == kg("code") and isinstance(t.object, ox.Literal)}

    def members(cls: ox.NamedNode) -> dict[str, ox.NamedNode]:
        return {code: s for s, code in codes.items() if (s, cls) in types and isinstance(s, ox.NamedNode)}

    return Vocabulary(Path(path), triples, members(kg("Agency")), members(kg("Status")), members(kg("Certainty")))


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    path = path or vocabulary_file()
    if not path.is_file():
        raise KGError(f"{path}: no such file")
    return _load_vocabulary(str(path), path.stat().st_mtime)


def _valid_iri(text: str) -> bool:
    if not re.match(r"^https?://", text):
        return False
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def check_provenance(card: dict, vocab: Vocabulary, index: int | None = None) -> None:
    """A catalogue card must say where its facts come from: source, status, agency and year (CardError if not)."""

    def fail(key: str, message: str) -> None:
        raise CardError(f"provenance.{key}" if key else "provenance", message, index)

    prov = card.get("provenance")
    if not isinstance(prov, dict):
        fail("", "required in a catalogue: an object with source, agency, year and status")
    source = prov.get("source")
    if not isinstance(source, str) or not source.strip():
        fail("source", "required: the public document or page the card's facts come from")
    status = prov.get("status")
    if status not in vocab.statuses:
        fail("status", f"unknown code {json.dumps(status)}; expected one of: {', '.join(sorted(vocab.statuses))}")
    agency = prov.get("agency", "none")
    if agency != "none" and agency not in vocab.agencies:
        fail("agency", f"unknown code {json.dumps(agency)}; expected none or one of: {', '.join(sorted(vocab.agencies))}")
    year = prov.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100):
        fail("year", f"expected a year (1900-2100) or null, got {json.dumps(year)}")
    if status in ("approved", "withdrawn") and (agency == "none" or year is None):
        fail("agency" if agency == "none" else "year", f"a product with status {status!r} needs the approving agency and year")
    url = prov.get("url")
    if url is not None and (not isinstance(url, str) or not _valid_iri(url)):
        fail("url", f"expected an http(s) URL, got {json.dumps(url)}")
    country = prov.get("country")
    if country is not None and (not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2,3}", country)):
        fail("country", f"expected an ISO 3166 code such as CN, got {json.dumps(country)}")
    approvals = prov.get("approvals", [])
    if not isinstance(approvals, list):
        fail("approvals", "expected a list of {agency, year, source}")
    for i, item in enumerate(approvals):
        if not isinstance(item, dict) or item.get("agency") not in vocab.agencies:
            fail(f"approvals[{i}].agency", f"expected one of: {', '.join(sorted(vocab.agencies))}")
        y = item.get("year")
        if not isinstance(y, int) or isinstance(y, bool) or not 1900 <= y <= 2100:
            fail(f"approvals[{i}].year", f"expected a year (1900-2100), got {json.dumps(y)}")
        if not isinstance(item.get("source"), str) or not item["source"].strip():
            fail(f"approvals[{i}].source", "required: the public document or page of this approval")
    from atmp.kg.decisions import check_decisions

    check_decisions(prov, vocab, fail)


def load_catalogue(path: Path | None = None, vocab: Vocabulary | None = None) -> list[dict]:
    """Read and validate the catalogue: every card against the contract schema, plus its provenance.

    The contract schema allows extra top-level keys, so ``provenance`` travels with the card; ``label``
    is a contract field.
    """
    path = Path(path) if path else catalogue_file()
    if not path.is_file():
        raise KGError(f"{path}: no such file")
    cards, was_array = parse_cards(path.read_bytes())
    if not was_array:
        raise CardError("", "a catalogue is a JSON array of product cards")
    vocab = vocab or load_vocabulary()
    for index, card in enumerate(cards):
        check_provenance(card, vocab, index)
    return cards


# --------------------------------------------------------------------------- query results


def term_value(term: Term | None):
    """A term as a plain Python value: IRIs and plain literals as str, integers, decimals, booleans as such."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt == XSD_NS + "boolean":
            return term.value in ("true", "1")
        if dt in (XSD_NS + "integer", XSD_NS + "int", XSD_NS + "long", XSD_NS + "nonNegativeInteger", XSD_NS + "gYear"):
            try:
                return int(term.value)
            except ValueError:
                return term.value
        return term.value
    return term.value


def compact(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and re.fullmatch(r"[A-Za-z0-9_.\-]*", iri[len(ns):]):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"


@dataclass
class QueryResult:
    """Solutions of a SELECT (``variables`` + ``rows``, unbound variables left out of a row) or an ASK (``boolean``)."""

    variables: list[str]
    rows: list[dict[str, Term]] = field(default_factory=list)
    boolean: bool | None = None

    @classmethod
    def from_oxigraph(cls, res) -> QueryResult:
        if isinstance(res, ox.QueryBoolean):
            return cls([], [], bool(res))
        if isinstance(res, ox.QuerySolutions):
            variables = [v.value for v in res.variables]
            rows = []
            for solution in res:
                row = {}
                for name in variables:
                    value = solution[name]
                    if value is not None:
                        row[name] = value
                rows.append(row)
            return cls(variables, rows)
        rows = [{"subject": t.subject, "predicate": t.predicate, "object": t.object} for t in res]
        return cls(["subject", "predicate", "object"], rows)

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict]:
        """Rows as plain Python values (see :func:`term_value`); unbound variables are None."""
        return [{v: term_value(row.get(v)) for v in self.variables} for row in self.rows]

    def column(self, name: str) -> list:
        return [term_value(row.get(name)) for row in self.rows]

    def keyed(self) -> list[tuple]:
        """Rows as tuples of N-Triples strings, for exact comparison of two result sets."""
        return [tuple(str(row[v]) if v in row else None for v in self.variables) for row in self.rows]

    # -- serialisations: SPARQL 1.1 JSON and CSV results, and a table for people
    def to_json(self) -> dict:
        if self.boolean is not None:
            return {"head": {}, "boolean": self.boolean}
        bindings = []
        for row in self.rows:
            out = {}
            for name, term in row.items():
                if isinstance(term, ox.NamedNode):
                    out[name] = {"type": "uri", "value": term.value}
                elif isinstance(term, ox.BlankNode):
                    out[name] = {"type": "bnode", "value": term.value}
                else:
                    item = {"type": "literal", "value": term.value}
                    if term.language:
                        item["xml:lang"] = term.language
                    elif term.datatype != XSD_STRING:
                        item["datatype"] = term.datatype.value
                    out[name] = item
            bindings.append(out)
        return {"head": {"vars": self.variables}, "results": {"bindings": bindings}}

    def to_csv(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        if self.boolean is not None:
            writer.writerow(["boolean"])
            writer.writerow(["true" if self.boolean else "false"])
            return buf.getvalue()
        writer.writerow(self.variables)
        for row in self.rows:
            writer.writerow([("_:" + row[v].value if isinstance(row[v], ox.BlankNode) else row[v].value) if v in row else "" for v in self.variables])
        return buf.getvalue()

    def to_table(self) -> str:
        if self.boolean is not None:
            return "yes" if self.boolean else "no"

        def cell(term: Term | None) -> str:
            if term is None:
                return ""
            if isinstance(term, ox.NamedNode):
                return compact(term.value)
            if isinstance(term, ox.BlankNode):
                return "_:" + term.value
            return " ".join(term.value.split())

        rows = [[cell(row.get(v)) for v in self.variables] for row in self.rows]
        widths = [max([len(v)] + [_width(r[i]) for r in rows]) for i, v in enumerate(self.variables)]

        def line(cells: list[str]) -> str:
            return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [line(self.variables), line(["-" * w for w in widths]), *map(line, rows)]
        out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        return "\n".join(out)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if "\u2e80" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


# --------------------------------------------------------------------------- building the graph


def _to_ox(term) -> Term:
    """rdflib term -> pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, RBNode):
        return ox.BlankNode(str(term))
    if isinstance(term, RLiteral):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def product_node(card_id: str) -> ox.NamedNode:
    return ox.NamedNode(str(PRODUCT_NS[card_id]))


class _Writer:
    """Collects quads for one named graph."""

    def __init__(self, graph: ox.NamedNode):
        self.graph = graph
        self.quads: list[ox.Quad] = []

    def add(self, s, p, o) -> None:
        self.quads.append(ox.Quad(s, p, o, self.graph))

    def text(self, s, p, value: str | None, language: str | None = None) -> None:
        if value is not None and value != "":
            self.add(s, p, ox.Literal(value, language=language) if language else ox.Literal(value))

    def bilingual(self, s, p, texts: Mapping[str, str] | None) -> None:
        for lang in ("en", "zh"):
            if texts and texts.get(lang):
                self.add(s, p, ox.Literal(texts[lang], language=lang))


def _asserted(model: OntologyModel, cards: list[dict], vocab: Vocabulary) -> list[ox.Quad]:
    from atmp.core.validate import data_graph

    w = _Writer(GRAPHS["asserted"])
    for s, p, o in data_graph(model, cards):
        w.add(_to_ox(s), _to_ox(p), _to_ox(o))
    for card in cards:
        node = product_node(card["id"])
        w.text(node, ox.NamedNode(str(ATMP.cardId)), card["id"])
        w.bilingual(node, RDFS_LABEL, card.get("label"))
        prov = card.get("provenance")
        if not isinstance(prov, dict):
            continue
        w.text(node, DCT_SOURCE, prov.get("source"))
        if prov.get("url"):
            w.add(node, DCT_SOURCE, ox.NamedNode(prov["url"]))
        if prov.get("status") in vocab.statuses:
            w.add(node, kg("status"), vocab.statuses[prov["status"]])
        w.text(node, kg("country"), prov.get("country"))
        approvals = []
        if prov.get("agency") in vocab.agencies:
            approvals.append({"agency": prov["agency"], "year": prov.get("year"), "source": prov.get("url")})
        approvals.extend(a for a in prov.get("approvals", []) if a.get("agency") in vocab.agencies)
        for item in approvals:
            year = item.get("year")
            approval = ox.NamedNode(f"{node.value}/approval/{item['agency']}" + (f"-{year}" if year is not None else ""))
            w.add(node, kg("approval"), approval)
            w.add(approval, RDF_TYPE, kg("Approval"))
            w.add(approval, kg("agency"), vocab.agencies[item["agency"]])
            if year is not None:
                w.add(approval, kg("year"), ox.Literal(int(year)))
            source = item.get("source")
            if source:
                w.add(approval, DCT_SOURCE, ox.NamedNode(source) if _valid_iri(source) else ox.Literal(source))
        from atmp.kg.decisions import add_decisions

        add_decisions(w, node, prov, vocab)
    return w.quads


@dataclass(frozen=True)
class _ResultClasses:
    """The ontology's result classes, found through their annotations."""

    single: dict[tuple[str, str], ox.NamedNode]  # (result field, code) -> class
    criteria: dict[int, ox.NamedNode]
    atmp: ox.NamedNode | None
    by_local: dict[str, ox.NamedNode]  # local name of any named class -> class (for explanation rules)

    @classmethod
    def of(cls, model: OntologyModel) -> _ResultClasses:
        from rdflib import OWL, RDF

        single: dict[tuple[str, str], ox.NamedNode] = {}
        criteria: dict[int, ox.NamedNode] = {}
        atmp = None
        for rc in model.result_classes:
            node = ox.NamedNode(str(rc.iri))
            if rc.field == "atmp":
                atmp = node
            elif rc.field == "tianjin.criteria" and rc.number is not None:
                criteria[rc.number] = node
            elif rc.code is not None:
                single[(rc.field, rc.code)] = node
        by_local = {}
        for c in model.graph.subjects(RDF.type, OWL.Class):
            if isinstance(c, URIRef):
                by_local.setdefault(re.split(r"[/#]", str(c))[-1], ox.NamedNode(str(c)))
        return cls(single, criteria, atmp, by_local)


def _literal_value(value) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal(value)
    if isinstance(value, int):
        return ox.Literal(value)
    return ox.Literal(str(value))


class _Reasons:
    """Reasons are shared: "meets: X" or "substance.kind = cells" reads the same in every explanation.

    Each distinct reason becomes one resource with a readable IRI (``reason/meets/Rule``,
    ``reason/fails/Rule``, ``reason/fact/field/value``, ``reason/absent/field``), suffixed ``-2``, ``-3``...
    when the same key carries different wording.
    """

    def __init__(self) -> None:
        self._by_content: dict[str, ox.NamedNode] = {}
        self._content: dict[ox.NamedNode, dict] = {}

    def node(self, reason: dict) -> ox.NamedNode:
        content = json.dumps(reason, sort_keys=True, ensure_ascii=False)
        if content in self._by_content:
            return self._by_content[content]
        if "rule" in reason:
            key = f"{'meets' if reason.get('holds', True) else 'fails'}/{reason['rule']}"
        elif reason.get("value") is None:
            key = f"absent/{reason.get('field')}"
        else:
            value = reason["value"]
            key = f"fact/{reason.get('field')}/{str(value).lower() if isinstance(value, bool) else value}"
        base = BASE + "reason/" + quote(key, safe="/_.-")
        iri, n = ox.NamedNode(base), 1
        while iri in self._content:
            n += 1
            iri = ox.NamedNode(f"{base}-{n}")
        self._by_content[content] = iri
        self._content[iri] = reason
        return iri

    def items(self):
        return self._content.items()


def _inferred(model: OntologyModel, results: list[dict], engine: str) -> list[ox.Quad]:
    classes = _ResultClasses.of(model)
    reasons = _Reasons()
    w = _Writer(GRAPHS["inferred"])
    w.text(GRAPHS["inferred"], kg("engine"), engine)
    w.text(GRAPHS["inferred"], kg("ontologyVersion"), model.version_iri or None)
    for result in results:
        node = product_node(result["id"])
        types: list[ox.NamedNode] = []
        if result["atmp"] and classes.atmp is not None:
            types.append(classes.atmp)
        for fld, code in (
            ("exclusion", result["exclusion"]),
            ("nmpa.class", result["nmpa"]["class"]),
            ("nmpa.subclass", result["nmpa"]["subclass"]),
            ("tianjin.category", result["tianjin"]["category"]),
            ("tianjin.subcategory", result["tianjin"]["subcategory"]),
            ("tianjin.risk_tier", result["tianjin"]["risk_tier"]),
        ):
            if code is not None:
                types.append(classes.single[(fld, code)])
        types.extend(classes.criteria[n] for n in result["tianjin"]["criteria"])
        for entry in result["borderline"]:
            rule = classes.single.get(("borderline", entry["code"]))
            if rule is not None:
                types.append(rule)
        from atmp.kg.decisions import regime_types

        types.extend(regime_types(model, result))
        for t in dict.fromkeys(types):
            w.add(node, RDF_TYPE, t)
        w.add(node, kg("conforms"), ox.Literal(bool(result["conforms"])))
        for entry in result["borderline"]:
            b = ox.NamedNode(f"{node.value}/borderline/{entry['code']}")
            w.add(node, kg("borderline"), b)
            w.add(b, RDF_TYPE, kg("BorderlineEntry"))
            w.text(b, kg("code"), entry["code"])
            w.text(b, kg("severity"), entry.get("severity"))
            w.bilingual(b, RDFS_COMMENT, entry.get("message"))
            w.text(b, DCT_SOURCE, entry.get("source"))
            rule = classes.single.get(("borderline", entry["code"]))
            if rule is not None:
                w.add(b, kg("rule"), rule)
        for i, entry in enumerate(result["violations"], 1):
            v = ox.NamedNode(f"{node.value}/violation/{i}")
            w.add(node, kg("violation"), v)
            w.add(v, RDF_TYPE, kg("Violation"))
            w.text(v, kg("code"), entry.get("code"))
            w.text(v, kg("path"), entry.get("path"))
            w.text(v, kg("severity"), entry.get("severity"))
            w.bilingual(v, RDFS_COMMENT, entry.get("message"))
            w.text(v, DCT_SOURCE, entry.get("source"))
        for i, entry in enumerate(result["explanation"], 1):
            e = ox.NamedNode(f"{node.value}/explanation/{i}")
            w.add(node, kg("explanation"), e)
            w.add(e, RDF_TYPE, kg("Explanation"))
            w.add(e, kg("order"), ox.Literal(i))
            w.text(e, kg("conclusion"), entry["conclusion"])
            if entry.get("rule") in classes.by_local:
                w.add(e, kg("rule"), classes.by_local[entry["rule"]])
            w.bilingual(e, RDFS_LABEL, entry.get("label"))
            w.bilingual(e, RDFS_COMMENT, entry.get("text"))
            w.text(e, DCT_SOURCE, entry.get("source"))
            for reason in entry.get("because", []):
                w.add(e, kg("because"), reasons.node(reason))
    for r, reason in reasons.items():
        w.add(r, RDF_TYPE, kg("Reason"))
        if reason.get("rule") in classes.by_local:
            w.add(r, kg("rule"), classes.by_local[reason["rule"]])
        if "holds" in reason:
            w.add(r, kg("holds"), ox.Literal(bool(reason["holds"])))
        w.text(r, kg("field"), reason.get("field"))
        if reason.get("value") is not None:
            w.add(r, kg("value"), _literal_value(reason["value"]))
        w.bilingual(r, RDFS_LABEL, reason)
        w.text(r, DCT_SOURCE, reason.get("source"))
    return w.quads


@dataclass
class BuildInfo:
    engine: str
    cards: int
    seconds: dict[str, float]
    quads: dict[str, int]


class KnowledgeGraph:
    """The dataset in an embedded pyoxigraph store, with the cards and results it was built from."""

    def __init__(self, store: ox.Store, cards: list[dict] | None = None, results: list[dict] | None = None, info: BuildInfo | None = None):
        self.store = store
        self.cards = cards or []
        self.results = {r["id"]: r for r in results or []}
        self.info = info

    # -- construction
    @classmethod
    def build(
        cls,
        cards: list[dict] | None = None,
        *,
        engine: str = "compiled",
        model: OntologyModel | None = None,
        catalogue: Path | None = None,
        vocabulary: Path | None = None,
    ) -> KnowledgeGraph:
        """Classify the cards (the catalogue when none are given) and materialise the three named graphs."""
        from atmp.core.classify import classify_cards

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        model = model or load_model()
        vocab = load_vocabulary(vocabulary)
        if cards is None:
            cards = load_catalogue(catalogue, vocab)
        timings["load"] = time.perf_counter() - t0
        t = time.perf_counter()
        results = classify_cards(cards, engine=engine, model=model)
        timings["classify"] = time.perf_counter() - t
        t = time.perf_counter()
        store = ox.Store()
        ontology_nt = model.graph.serialize(format="nt", encoding="utf-8")
        store.load(input=ontology_nt, format=ox.RdfFormat.N_TRIPLES, to_graph=GRAPHS["ontology"])
        store.extend(ox.Quad(t.subject, t.predicate, t.object, GRAPHS["ontology"]) for t in vocab.triples)
        store.extend(_asserted(model, cards, vocab))
        store.extend(_inferred(model, results, engine))
        timings["materialise"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        graph = cls(store, cards, results)
        graph.info = BuildInfo(engine, len(cards), timings, graph.counts())
        return graph

    @classmethod
    def from_file(cls, path: Path) -> KnowledgeGraph:
        """Load an exported dataset (TriG or N-Quads, as written by ``atmp export``) without rebuilding it."""
        path = Path(path)
        if not path.is_file():
            raise KGError(f"{path}: no such file")
        fmt = {".trig": ox.RdfFormat.TRIG, ".nq": ox.RdfFormat.N_QUADS}.get(path.suffix.lower())
        if fmt is None:
            raise KGError(f"{path}: expected a .trig or .nq dataset (atmp export --format trig|nq)")
        store = ox.Store()
        try:
            store.load(path=str(path), format=fmt)
        except (SyntaxError, OSError) as exc:
            raise KGError(f"{path}: cannot load: {exc}") from None
        return cls(store)

    # -- reading
    def counts(self) -> dict[str, int]:
        return {name: sum(1 for _ in self.store.quads_for_pattern(None, None, None, g)) for name, g in GRAPHS.items()}

    def query(self, sparql: str, bindings: Mapping[str, Term] | None = None, *, union_default_graph: bool = True) -> QueryResult:
        """Run a SPARQL query; ``bindings`` are RDF terms substituted for variables (never spliced into text).

        A query without ``FROM`` sees the union of the named graphs; the named queries name their graphs
        with ``FROM`` so that they mean the same on any SPARQL server.
        """
        substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
        try:
            res = self.store.query(sparql, substitutions=substitutions or None, use_default_graph_as_union=union_default_graph)
            return QueryResult.from_oxigraph(res)
        except SyntaxError as exc:
            raise KGError(f"invalid SPARQL: {exc}") from None
        except RuntimeError as exc:
            raise KGError(f"cannot run the query: {exc}") from None

    def products(self) -> list[dict]:
        """Catalogue entries with their results (for listing); in card order."""
        out = []
        for card in self.cards:
            result = self.results.get(card["id"])
            out.append({"id": card["id"], "label": card.get("label", {}), "provenance": card.get("provenance"), "result": result})
        return out

    # -- writing
    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        if graph is None:
            for g in GRAPHS.values():
                yield from self.store.quads_for_pattern(None, None, None, g)
        else:
            yield from self.store.quads_for_pattern(None, None, None, graph_node(graph))

    def serialize(self, fmt: str = "trig", graph: str | None = None) -> bytes:
        """``trig``/``nq`` keep the named graphs; ``turtle``/``nt`` give one graph, or all merged when ``graph`` is None."""
        if fmt not in EXPORT_FORMATS:
            raise KGError(f"unknown format {fmt!r}; expected one of: {', '.join(EXPORT_FORMATS)}")
        rdf_format = EXPORT_FORMATS[fmt]
        prefixes = PREFIXES if fmt in ("turtle", "trig") else None
        if fmt in QUAD_FORMATS:
            data: Iterable = self.quads(graph)
        else:
            data = dict.fromkeys(q.triple for q in self.quads(graph))
        return ox.serialize(data, format=rdf_format, prefixes=prefixes)


def graph_node(name: str) -> ox.NamedNode:
    if name in GRAPHS:
        return GRAPHS[name]
    raise KGError(f"unknown graph {name!r}; expected one of: {', '.join(GRAPH_NAMES)}")


_SHARED: dict[tuple, KnowledgeGraph] = {}
_SHARED_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple[str, float]:
    path = Path(path).resolve()
    return str(path), path.stat().st_mtime if path.exists() else -1.0


def shared_graph(engine: str = "compiled", ontology: Path | None = None, catalogue: Path | None = None) -> KnowledgeGraph:
    """The catalogue graph for long-running callers (an HTTP service): built on first use, kept, and built
    again when the ontology, shapes, catalogue or vocabulary file changes. Safe to call from several threads."""
    from atmp.core.validate import shapes_file

    ontology = Path(ontology or paths.ontology_file())
    catalogue = Path(catalogue or catalogue_file())
    key = (engine, _stamp(ontology), _stamp(catalogue), _stamp(vocabulary_file()), _stamp(shapes_file()))
    with _SHARED_LOCK:
        graph = _SHARED.get(key)
        if graph is None:
            graph = KnowledgeGraph.build(engine=engine, model=load_model(ontology), catalogue=catalogue)
            _SHARED.clear()
            _SHARED[key] = graph
        return graph
