"""The one path of a card: card -> facts -> memberships -> explanation -> result -> SHACL.

Each card goes through it once: its facts (:mod:`atmp.core.card.facts`), its memberships from the chosen
engine (:mod:`atmp.core.engines`), its result with the explanation at the asked level
(:mod:`atmp.core.result.assemble`, :mod:`atmp.core.explain`), then the batch's SHACL report
(:mod:`atmp.core.result.validate`, one run for all cards) is merged in.

One card never loses a batch: a card the path cannot classify — a defect, or an edited rule book the engines
cannot read — gets a result with an ``internal_error`` violation (every field empty) and every other card is
answered. A rule conflict is not an error: the result says so (``rule_conflict``) and the rest of it stands.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import lru_cache

from rdflib import URIRef

from atmp.core.card.facts import ProductFacts, add_product, card_facts
from atmp.core.engines.evaluator import Definitions, Evaluator, ProductContext
from atmp.core.engines.reasoner import owlready_memberships, warm_hermit
from atmp.core.result.assemble import assemble
from atmp.core.result.validate import validate_cards
from atmp.core.rules.layout import ENGINES, INTERNAL_ERROR, failed
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


def internal_error(card_id: str, exc: BaseException) -> dict:
    """The finding for a card the path could not classify: what failed, in words, and that the rest of the batch stands."""
    what = f"{type(exc).__name__}: {exc}"[:500]
    return {
        "code": INTERNAL_ERROR,
        "severity": "Violation",
        "path": "",
        "message": {
            "en": f"This card could not be classified ({what}); no field of this result is an answer. "
            "Every other card of the batch was classified. Please report it with the card.",
            "zh": f"无法对本产品卡进行分类（{what}）；本结果中的各字段均非结论。批次中其他产品卡均已分类。请连同产品卡一并报告此问题。",
        },
        "source": "",
    }


class Memberships:
    """Per card, the result classes it belongs to, from the chosen engine (only the selected regimes' classes are asked)."""

    def __init__(self, model: OntologyModel, engine: str, regimes: frozenset[str] | None):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
        self.model, self.engine = model, engine
        self.ev = evaluator_for(model)
        self.result_iris = [rc.iri for rc in selected_classes(model, regimes)]
        self.hermit = warm_hermit(model) if engine == "hermit" else None
        self.batch: dict | None = None

    def prepare(self, cards: list[dict], facts: list[ProductFacts | BaseException]) -> None:
        """owlready2 realises a whole batch in one reasoner run (the other engines answer card by card)."""
        if self.engine != "owlready2":
            return
        from rdflib import Graph

        graphs, iris = [], []
        for card, f in zip(cards, facts, strict=True):
            if isinstance(f, ProductFacts):
                g = Graph()
                add_product(g, self.model, f, card)
                graphs.append(g)
                iris.append(f.iri)
        extra = [c for c in reported_classes(self.model) if c not in set(self.result_iris)]
        self.batch = owlready_memberships(self.model.graph, graphs, iris, self.result_iris + extra)

    def of(self, facts: ProductFacts) -> tuple[set[URIRef], ProductContext]:
        ctx = self.ev.product_context(facts)
        if self.batch is not None:
            members = self.batch[facts.iri]
        elif self.hermit is not None:
            members = self.hermit.memberships(facts, self.result_iris)
        else:
            members = ctx.members(self.result_iris)
        # the classes the messages of its borderline classes name when they apply (atmp:reportsApplied), asked of
        # the same engine, only for the classes the product is in: most products have no borderline entry
        named = {c for m in members for c in alternatives(self.model, m)} - members
        if named and self.batch is None:
            members = members | (self.hermit.memberships(facts, named) if self.hermit is not None else {c for c in named if ctx.member(c)})
        return members, ctx


def memberships_for(cards: list[dict], engine: str = "compiled", model: OntologyModel | None = None) -> list[set[URIRef]]:
    """Per card, the result classes it belongs to (what ``atmp validate`` needs, without assembling results)."""
    model = model or load_model()
    found = Memberships(model, engine, None)
    facts = [card_facts(model, card) for card in cards]
    found.prepare(cards, facts)  # type: ignore[arg-type]
    return [found.of(f)[0] for f in facts]


def classify_cards(
    cards: list[dict],
    engine: str = "compiled",
    model: OntologyModel | None = None,
    progress: Callable[[int, int], None] | None = None,
    explain: str = "full",
    regimes: str | list[str] | frozenset[str] | None = None,
) -> list[dict]:
    """Classify validated cards; results keep the input order, one per card, whatever happens to another card.

    ``compiled`` (the default, the fast path) evaluates the ontology's axioms closed-world in Python;
    ``hermit`` asks a warm in-process HermiT (the reference); ``owlready2`` runs owlready2's batch
    realisation with HermiT. All three must agree; the tests hold them to it. ``regimes`` (codes of the
    ontology's atmp:Regime individuals, e.g. ``"n,t,eu"``; default all) selects which EU/US/JP blocks and
    crosswalk entries are computed; N and T are the contract's required fields and always are.

    ``explain``: ``full`` (the default, the whole definition walk per conclusion), ``brief`` (the proof: the
    facts that make the deciding definition hold, see :mod:`atmp.core.explain.proof`) or ``none``
    (``explanation`` is empty and no explanation work is done). The other fields do not depend on it.

    The cyclic garbage collector's automatic runs are paused for the batch: classification allocates many
    small, acyclic objects, and gen-2 collections over a growing heap cost a third of a 10,000-card run.
    Memory stays bounded anyway: every ``GC_EVERY`` cards the young generations are collected explicitly.
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
    from atmp.core.explain.walk import LEVELS

    if explain not in LEVELS:
        raise ValueError(f"unknown explanation level {explain!r}; expected one of {LEVELS}")
    engines = Memberships(model, engine, selected)
    facts: list[ProductFacts | BaseException] = []
    for card in cards:
        try:
            facts.append(card_facts(model, card))
        except Exception as exc:  # noqa: BLE001 - a defect on one card is that card's finding
            facts.append(exc)
    try:
        engines.prepare(cards, facts)
    except Exception as exc:  # noqa: BLE001 - the batch reasoner failed: every card of the batch says so
        facts = [exc] * len(cards)
    results: list[dict] = []
    memberships: list[set[URIRef] | None] = []
    every, due = GC_EVERY, GC_EVERY
    for i, (card, f) in enumerate(zip(cards, facts, strict=True)):
        try:
            if isinstance(f, BaseException):
                raise f
            members, ctx = engines.of(f)
            results.append(assemble(model, card, members, ctx, explain, selected))
            memberships.append(members)
        except Exception as exc:  # noqa: BLE001 - one card never loses a batch
            results.append(failed(card["id"], internal_error(card["id"], exc)))
            memberships.append(None)
        if progress:
            progress(i + 1, len(cards))
        if collect and i + 1 == due and i + 1 < len(cards):
            # a collection scans everything made since the last one; it is only worth it while it finds
            # cycles, so the interval doubles when it does not
            found = gc.collect(1)
            every = every if found > every else every * 2
            due = i + 1 + every
    _add_shacl(model, cards, facts, memberships, results)
    return results


def _add_shacl(model: OntologyModel, cards: list[dict], facts: list, memberships: list, results: list[dict]) -> None:
    """Merge the batch's SHACL report into the results (one run for all classified cards; card by card if it fails).

    SHACL sees the reasoner's borderline memberships, so its report and the result agree; the entries those
    produce are already in the result (from the same OWL classes), once each.
    """
    ok = [i for i, m in enumerate(memberships) if m is not None]
    try:
        reports = dict(zip(ok, validate_cards(model, [cards[i] for i in ok], [memberships[i] for i in ok], facts=[facts[i] for i in ok]), strict=True))
    except Exception:  # noqa: BLE001 - find the card that breaks the shapes, and keep the others' reports
        reports = {}
        for i in ok:
            try:
                reports[i] = validate_cards(model, [cards[i]], [memberships[i]], facts=[facts[i]])[0]
            except Exception as exc:  # noqa: BLE001
                results[i] = failed(cards[i]["id"], internal_error(cards[i]["id"], exc))
    for i, report in reports.items():
        result = results[i]
        result["violations"] = report["violations"] + result["violations"]
        result["conforms"] = not result["violations"]
        seen = {b["code"] for b in result["borderline"]}
        result["borderline"].extend(w for w in report["warnings"] if w["code"] not in seen)
