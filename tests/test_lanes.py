"""Every class on every lane (atmp.core.explain.lanes) is what the compiled class functions answer for that copy of the facts.

The lanes are the generated cards (a fifth self-contradictory) and, per card, copies with one to
three slots set to random bit patterns (values no card could state, combinations no rule expects:
the cycles meet every mix of true, false and unknown). The scalar answers are asked in a shuffled
order per copy, so the memo fills from different entry points, cycles included.
"""

from __future__ import annotations

import random

import pytest
from atmp.core.card.schema import load_cards
from atmp.core.classify import card_facts, evaluator_for
from atmp.core.explain.lanes import LaneClasses, lane_classes
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import load_model

from benchmarks.cardgen import generate_cards


@pytest.fixture(scope="module")
def compiled():
    model = load_model()
    ev = evaluator_for(model)
    return model, ev, ev.compiled_for(frozenset({ATMP.Product}))


def _products(model, ev, cc, n: int, copies: int, seed: int):
    rng = random.Random(seed)
    cards, _ = load_cards(generate_cards(n, seed=seed, inconsistent_fraction=0.2))
    out = []
    for card in cards:
        facts = card_facts(model, card)
        bits = cc.encode({ev.canon.get(p, p): tuple(ev.canon.get(v, v) for v in vals) for p, vals in facts.values.items()})
        assert bits is not None
        lanes = [()]
        for _ in range(copies):
            changed = {}
            for _ in range(rng.choice((1, 1, 2, 3))):
                slot = rng.randrange(len(cc.bits))
                changed[slot] = rng.randrange(1 << len(cc.bits[slot]))
            lanes.append(tuple(changed.items()))
        out.append((bits, facts.iri, lanes))
    return out


def test_every_class_on_every_lane_is_the_scalar_answer(compiled):
    model, ev, cc = compiled
    products = _products(model, ev, cc, 120, 24, seed=23)
    result = lane_classes(cc).evaluate(products)
    truths = [result.truth_of(c) for c in cc.classes]
    rng = random.Random(7)
    lane, wrong, answers = 0, [], set()
    for bits, iri, lanes in products:
        for changed in lanes:
            row = list(bits)
            for slot, value in changed:
                row[slot] = value
            memo = cc.new_memo(iri)
            order = list(range(len(cc.classes)))
            rng.shuffle(order)
            for i in order:
                want = cc.functions[i](tuple(row), memo)
                answers.add(want)
                if truths[i](lane) is not want:
                    wrong.append((str(iri), changed, str(cc.classes[i]), want, truths[i](lane)))
            lane += 1
    assert lane == result.n == 120 * 25
    assert answers == {True, False, None}, "the lanes must meet unknowns too"
    assert not wrong, wrong[:3]


def test_the_lane_code_is_generated_from_the_definitions(compiled):
    """An edit of the definitions changes the generated code (nothing in it is typed by hand)."""
    _, ev, cc = compiled
    form = LaneClasses(cc)
    assert form.cyclic and len(form.cyclic) < len(cc.classes)
    for cls in cc.classes:
        assert f"T[{cc.index[cls]}] = " in form.source
    some = next(c for c in cc.classes if ev.defs.equivalents.get(c))
    defs = ev.defs.equivalents.pop(some)
    try:
        assert LaneClasses(cc).source != form.source
    finally:
        ev.defs.equivalents[some] = defs


def test_a_product_with_no_copies_takes_no_lane(compiled):
    model, ev, cc = compiled
    products = _products(model, ev, cc, 3, 2, seed=4)
    products[1] = (products[1][0], products[1][1], [])
    result = lane_classes(cc).evaluate(products)
    assert result.n == 3 + 3
    alone = lane_classes(cc).evaluate([products[2]])
    i = cc.index[ATMP.Product]
    assert result.true_bytes(ATMP.Product)[0] & 0b111000 and alone.true[i] == 0b111


def test_rules_this_ontology_does_not_exercise_are_the_scalar_ones_too():
    """A hand-made rule book: two definitions that disagree, a negation of that class, a subclass that is not its
    superclass's definition, an enumeration of products, and a cycle that leaves unknowns: every pattern of facts."""
    from itertools import product as patterns

    from atmp.core.engines.compiled import CompiledClasses
    from atmp.core.engines.evaluator import Evaluator
    from atmp.core.engines.expressions import And, Definitions, HasValue, MaxZero, Named, Not, OneOf, Only, Or, Some
    from rdflib import OWL, URIRef

    x = "https://example.org/"
    p, q, flag = URIRef(x + "p"), URIRef(x + "q"), URIRef(x + "flag")
    a, b, c, v, w = (URIRef(x + n) for n in ("a", "b", "c", "V", "W"))
    one, two, both, neg, sub, sup, cyc1, cyc2, prod, only, none = (URIRef(x + n) for n in ("One", "Two", "Both", "Neg", "Sub", "Sup", "Cyc1", "Cyc2", "Prod", "Only", "None"))
    thing = OWL.Thing
    defs = Definitions(
        equivalents={
            both: [Some(p, Named(v)), Not(Some(p, Named(v)))],  # one true, the other false, on every product
            neg: [Not(Named(both))],
            one: [And((Some(p, Named(v)), HasValue(flag, True)))],
            two: [Or((Named(one), Named(cyc1)))],
            sub: [And((Some(q, Named(w)), Not(Named(one))))],
            cyc1: [And((Named(cyc2), MaxZero(q)))],
            cyc2: [Or((Named(cyc1), Named(neg)))],
            prod: [OneOf(frozenset({URIRef(x + "product/1")}))],
            only: [Only(p, Named(v))],
            none: [And((Named(sup), Not(Named(cyc2))))],
        },
        subclasses={sup: (sub, cyc1), cyc1: (two,)},
        asserted={a: {v}, b: {v, w}, c: {w}},
        canon={thing: thing},
    )
    ev = Evaluator(defs)
    universe = {p: (a, b, c), q: (a, b, c), flag: (False, True)}
    cc = CompiledClasses(ev, (p, q, flag), universe, frozenset())
    rows = [(bp, bq, bf, 0) for bp, bq, bf in patterns(range(8), range(8), range(4))]
    iris = [URIRef(x + "product/1"), URIRef(x + "product/2")]
    products = [(rows[0], iris[k % 2], [((0, r[0]), (1, r[1]), (2, r[2])) for r in rows[k::2]]) for k in range(2)]
    result = LaneClasses(cc).evaluate(products)
    answers, lane = set(), 0
    for k in range(2):
        for r in rows[k::2]:
            memo = cc.new_memo(iris[k % 2])
            for cls in cc.classes:
                want = cc.functions[cc.index[cls]](r, memo)
                answers.add((cls, want))
                assert result.truth_of(cls)(lane) is want, (cls, r, k)
            lane += 1
    assert {(both, True), (neg, False), (prod, True), (prod, False), (cyc1, None), (sup, True)} <= answers
