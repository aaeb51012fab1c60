"""The knowledge graph in an embedded pyoxigraph store: built once from the catalogue, queried, exported.

:class:`KnowledgeGraph` builds the store once and answers SPARQL with safely bound parameters; it is
meant to be kept and shared (queries only read; pyoxigraph stores are safe to query from several threads).
:func:`shared_graph` keeps one per rule-file state for long-running callers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from atmp.core.rules import resources as paths
from atmp.core.rules.ontology import OntologyModel, load_model

from .catalogue import catalogue_file, load_catalogue, load_vocabulary, vocabulary_file
from .materialise import materialise
from .names import EXPORT_FORMAT_NAMES
from .results import QueryResult
from .terms import GRAPHS, PREFIXES, KGError, Term, graph_node

EXPORT_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "trig": ox.RdfFormat.TRIG, "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS}
assert tuple(EXPORT_FORMATS) == EXPORT_FORMAT_NAMES, "kg.names lists the export formats the store writes"
QUAD_FORMATS = ("trig", "nq")


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
        materialise(store, model, cards, results, vocab, engine)
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


_SHARED: dict[tuple, KnowledgeGraph] = {}
_SHARED_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple[str, float]:
    path = Path(path).resolve()
    return str(path), path.stat().st_mtime if path.exists() else -1.0


def shared_graph(engine: str = "compiled", ontology: Path | None = None, catalogue: Path | None = None) -> KnowledgeGraph:
    """The catalogue graph for long-running callers (an HTTP service): built on first use, kept, and built
    again when the ontology, shapes, catalogue or vocabulary file changes. Safe to call from several threads."""
    from atmp.core.result.validate import shapes_file

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
