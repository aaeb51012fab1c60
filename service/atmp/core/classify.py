"""The one path of a card: parse -> graph -> reason -> validate (SHACL) -> explain -> result."""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import lru_cache

from rdflib import URIRef

from atmp.core.card.facts import add_product, card_facts
from atmp.core.engines.evaluator import Evaluator
from atmp.core.engines.expressions import Definitions
from atmp.core.engines.reasoner import owlready_memberships, warm_hermit
from atmp.core.result.assemble import assemble
from atmp.core.result.validate import validate_cards
from atmp.core.rules.layout import ENGINES
from atmp.core.rules.messages import alternatives, reported_classes
from atmp.core.rules.ontology import OntologyModel, load_model
from atmp.core.rules.regimes import parse_selection, selected_classes


@lru_cache(maxsize=8)
def evaluator_for(model: OntologyModel) -> Evaluator:
    """The evaluator of a model, from the on-disk compiled cache when the model came from it."""
    from atmp.core.rules.cache import bundle_for_model, code_for

    bundle = bundle_for_model(model)
    ev = Evaluator(bundle.definitions if bundle is not None else Definitions.from_graph(model.graph))
    ev.use_vocabulary(*vocabulary(model))
    if bundle is not None:
        ev.cached_code = lambda types: code_for(model, types)
        ev._reads.update(bundle.reads)  # stored with the definitions they were walked from
    return ev


def vocabulary(model: OntologyModel) -> tuple[tuple[URIRef, ...], dict[URIRef, tuple]]:
    """Card properties and every value a card can give each (codes, the absent-field default, booleans)."""
    universe: dict[URIRef, tuple] = {}
    for p in model.properties:
        values = list(p.codes.values()) if p.is_object else [False, True]
        if p.default is not None:
            values.append(p.default)
        universe[p.iri] = tuple(dict.fromkeys(values))
    return tuple(p.iri for p in model.properties), universe


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
        batch = owlready_memberships(model.graph, graphs, [f.iri for f in facts], result_iris + [c for c in reported_classes(model) if c not in set(result_iris)])
    hermit = warm_hermit(model) if engine == "hermit" else None
    for i, f in enumerate(facts):
        ctx = ev.product_context(f)
        if batch is not None:
            members = batch[f.iri]
        elif hermit is not None:
            members = hermit.memberships(f, result_iris)
        else:
            members = ctx.members(result_iris)
        # the classes the messages of its borderline classes name when they apply (atmp:reportsApplied), asked of
        # the same engine, only for the classes the product is in: most products have no borderline entry
        named = {c for m in members for c in alternatives(model, m)} - members
        if named and batch is None:
            members = members | (hermit.memberships(f, named) if hermit is not None else {c for c in named if ctx.member(c)})
        yield members, ctx
        if progress:
            progress(i + 1, len(cards))


def classify_cards(
    cards: list[dict],
    engine: str = "compiled",
    model: OntologyModel | None = None,
    progress: Callable[[int, int], None] | None = None,
    explain: str = "full",
    regimes: str | list[str] | frozenset[str] | None = None,
) -> list[dict]:
    """Classify validated cards; results keep the input order.

    ``compiled`` (the default, the fast path) evaluates the ontology's axioms closed-world in
    Python; ``hermit`` asks a warm in-process HermiT (the reference); ``owlready2`` runs owlready2's
    batch realisation with HermiT. All three must agree; the tests hold them to it. ``regimes`` (codes of
    the ontology's atmp:Regime individuals, e.g. ``"n,t,eu"``; default all) selects which EU/US/JP blocks
    and crosswalk entries are computed; N and T are the contract's required fields and always are.

    ``explain``: ``full`` (the default, the whole definition walk per conclusion), ``brief`` (only
    the deciding reasons, see :mod:`atmp.core.explain.justify`) or ``none`` (``explanation`` is empty and no
    explanation work is done). The other fields do not depend on it.

    The cyclic garbage collector's automatic runs are paused for the batch: classification allocates
    many small, acyclic objects, and gen-2 collections over a growing heap cost a third of a
    10,000-card run. Memory stays bounded anyway: at the start and every ``GC_EVERY`` cards the young
    generations — where recent batches' objects are — are collected explicitly, so reference cycles
    made while explaining (a closure per call) never pile up over an unbounded batch or a stream of
    batches.
    """
    model = model or load_model()
    selected = parse_selection(model, regimes)
    paused = gc.isenabled() and len(cards) > 100
    if paused:
        gc.collect(1)  # the previous batch's cycles: its results are usually written and dropped by now, so this scan is short
        gc.disable()
    try:
        return _classify(cards, engine, model, progress, explain, collect=paused, selected=selected)
    finally:
        if paused:
            gc.enable()


GC_EVERY = 1000  # cards between explicit young-generation collections while the collector is paused


def _classify(
    cards: list[dict],
    engine: str,
    model: OntologyModel,
    progress: Callable[[int, int], None] | None,
    explain: str = "full",
    collect: bool = False,
    selected: frozenset[str] | None = None,
) -> list[dict]:
    from atmp.core.explain.walk import LEVELS, fill_pending

    if explain not in LEVELS:
        raise ValueError(f"unknown explanation level {explain!r}; expected one of {LEVELS}")
    results = []
    memberships = []
    facts = []
    every, due = GC_EVERY, GC_EVERY
    # brief: the searches of justify.LANES products run together (atmp.core.explain.justify.prefetch), their entries filled after
    from atmp.core.explain import justify

    batch = justify.LANES if explain == "brief" and justify.FAST and len(cards) >= justify.LANES_MIN else 0
    pending: list | None = [] if batch > 1 else None
    for i, (card, (members, ctx)) in enumerate(zip(cards, _memberships(cards, engine, model, progress, selected), strict=True)):
        memberships.append(members)
        facts.append(ctx.facts)
        results.append(assemble(model, card, members, ctx, explain, selected, pending))
        if pending is not None and ((i + 1) % batch == 0 or i + 1 == len(cards)):
            fill_pending(model, pending)
        if collect and i + 1 == due and i + 1 < len(cards):
            # a collection scans everything made since the last one (~70 ms per 1,000 explained
            # cards); it is only worth it while it finds cycles, so the interval doubles when it does not
            found = gc.collect(1)
            every = every if found > every else every * 2
            due = i + 1 + every
    # SHACL sees the reasoner's borderline memberships, so its report and the result agree; the
    # entries those produce are already in the result (from the same OWL classes), once each.
    for result, report in zip(results, validate_cards(model, cards, memberships, facts=facts), strict=True):
        result["violations"] = report["violations"]
        result["conforms"] = report["conforms"]
        seen = {b["code"] for b in result["borderline"]}
        result["borderline"].extend(w for w in report["warnings"] if w["code"] not in seen)
    return results
