"""The one path of a card: parse -> graph -> reason -> validate (SHACL) -> explain -> result."""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import lru_cache

from rdflib import URIRef

from .evaluator import Definitions, Evaluator
from .facts import add_product, card_facts
from .ontology import OntologyModel, load_model
from .reasoner import owlready_memberships, warm_hermit
from .regimes import parse_selection, selected_classes
from .result import assemble
from .validate import validate_cards

ENGINES = ("hermit", "owlready2", "compiled")


@lru_cache(maxsize=8)
def evaluator_for(model: OntologyModel) -> Evaluator:
    return Evaluator(Definitions.from_graph(model.graph))


def memberships_for(cards: list[dict], engine: str = "compiled", model: OntologyModel | None = None) -> list[set[URIRef]]:
    """Per card, the result classes it belongs to (what ``atmp validate`` needs, without assembling results)."""
    return [members for members, _ in _memberships(cards, engine, model or load_model())]


def _memberships(cards: list[dict], engine: str, model: OntologyModel, progress: Callable[[int, int], None] | None = None, regimes: frozenset[str] | None = None):
    """Yield ``(members, context)`` per card, in order, from the chosen engine (only the selected regimes' classes are asked)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    ev = evaluator_for(model)
    result_iris = [rc.iri for rc in selected_classes(model, regimes)]
    facts = [card_facts(model, card) for card in cards]
    batch = None
    if engine == "owlready2":
        from rdflib import Graph

        graphs = []
        for card, f in zip(cards, facts, strict=True):
            g = Graph()
            add_product(g, model, f, card)
            graphs.append(g)
        batch = owlready_memberships(model.graph, graphs, [f.iri for f in facts], result_iris)
    hermit = warm_hermit(model) if engine == "hermit" else None
    for i, f in enumerate(facts):
        ctx = ev.product_context(f)
        if batch is not None:
            members = batch[f.iri]
        elif hermit is not None:
            members = hermit.memberships(f, result_iris)
        else:
            members = {c for c in result_iris if ctx.member(c)}
        yield members, ctx
        if progress:
            progress(i + 1, len(cards))


def classify_cards(
    cards: list[dict],
    engine: str = "compiled",
    model: OntologyModel | None = None,
    progress: Callable[[int, int], None] | None = None,
    regimes: str | list[str] | frozenset[str] | None = None,
) -> list[dict]:
    """Classify validated cards; results keep the input order.

    ``compiled`` (the default, the fast path) evaluates the ontology's axioms closed-world in
    Python; ``hermit`` asks a warm in-process HermiT (the reference); ``owlready2`` runs owlready2's
    batch realisation with HermiT. All three must agree; the tests hold them to it. ``regimes`` (codes of
    the ontology's atmp:Regime individuals, e.g. ``"n,t,eu"``; default all) selects which EU/US/JP blocks
    and crosswalk entries are computed; N and T are the contract's required fields and always are.

    The cyclic garbage collector is paused for the batch: classification allocates many small,
    acyclic objects, and gen-2 collections over a growing heap cost a third of a 10,000-card run.
    """
    model = model or load_model()
    selected = parse_selection(model, regimes)
    paused = gc.isenabled() and len(cards) > 100
    if paused:
        gc.disable()
    try:
        return _classify(cards, engine, model, progress, selected)
    finally:
        if paused:
            gc.enable()


def _classify(cards: list[dict], engine: str, model: OntologyModel, progress: Callable[[int, int], None] | None, selected: frozenset[str] | None = None) -> list[dict]:
    results = []
    memberships = []
    facts = []
    for card, (members, ctx) in zip(cards, _memberships(cards, engine, model, progress, selected), strict=True):
        memberships.append(members)
        facts.append(ctx.facts)
        results.append(assemble(model, card, members, ctx, selected))
    # SHACL sees the reasoner's borderline memberships, so its report and the result agree; the
    # entries those produce are already in the result (from the same OWL classes), once each.
    for result, report in zip(results, validate_cards(model, cards, memberships, facts=facts), strict=True):
        result["violations"] = report["violations"]
        result["conforms"] = report["conforms"]
        seen = {b["code"] for b in result["borderline"]}
        result["borderline"].extend(w for w in report["warnings"] if w["code"] not in seen)
    return results
