"""The catalogue of real products, its provenance, and the knowledge-graph vocabulary that names agencies and statuses.

A catalogue card is a contract card plus ``provenance`` (where its facts come from); the vocabulary file
(``catalogue/kg-vocabulary.ttl``) is the one place the agency and status codes are defined, so checking
provenance reads them from there rather than from a list in Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from atmp.core.card.schema import CardError, parse_cards
from atmp.core.rules import resources as paths

from .terms import RDF_TYPE, KGError, kg, valid_iri

CATALOGUE_FILE = "products.json"
VOCABULARY_FILE = "kg-vocabulary.ttl"


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
    from atmp.core.rules.files import FileRefused, read_file

    try:
        triples = tuple(ox.parse(read_file(path, what="vocabulary"), format=ox.RdfFormat.TURTLE))
    except FileRefused as exc:
        raise KGError(f"cannot read vocabulary {exc}") from None
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
    if url is not None and (not isinstance(url, str) or not valid_iri(url)):
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
    from atmp.core.card.schema import MAX_INPUT_BYTES
    from atmp.core.rules.files import FileRefused, read_file

    path = Path(path) if path else catalogue_file()
    try:
        data = read_file(path, limit=MAX_INPUT_BYTES, what="catalogue")  # a regular file of bounded size
    except FileRefused as exc:
        raise KGError(str(exc)) from None
    cards, was_array = parse_cards(data)
    if not was_array:
        raise CardError("", "a catalogue is a JSON array of product cards")
    vocab = vocab or load_vocabulary()
    for index, card in enumerate(cards):
        check_provenance(card, vocab, index)
    return cards


@lru_cache(maxsize=1)
def vocabulary_labels() -> dict[str, dict[str, dict[str, str]]]:
    """Labels of the catalogue's provenance codes (``catalogue/kg-vocabulary.ttl``): ``{"agency"|"status": {code: {en, zh}}}``,
    keyed by the lower-cased local name of each coded individual's class."""
    from rdflib import OWL, RDF, RDFS, Graph, URIRef

    from atmp.core.rules.files import read_file
    from atmp.core.rules.ontology import bilingual

    from .terms import KG_NS

    graph = Graph().parse(data=read_file(paths.catalogue_dir() / VOCABULARY_FILE, what="vocabulary"), format="turtle")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for individual, code in graph.subject_objects(URIRef(KG_NS + "code")):
        for cls in graph.objects(individual, RDF.type):
            if isinstance(cls, URIRef) and cls != OWL.NamedIndividual:
                out.setdefault(str(cls).rsplit("/", 1)[-1].lower(), {})[str(code)] = bilingual(graph, individual, RDFS.label)
    return out
