"""The fast briefs say exactly what the reference brief says.

The reference re-decides each counterfactual through a new ProductContext built from changed
facts; the bitset path (atmp.core.explain.justify_fast) flips bits in the product's bitsets, one
re-decision at a time; the lane path (atmp.core.explain.justify.prefetch over atmp.core.explain.lanes) asks each
step of the search for a batch of products at once. Each is run from an empty justification cache
on the examples, the catalogue and 300 generated cards (some self-contradictory, and a batch
boundary inside them), and the serialised results must be byte-identical (text, reasons, card
edits, order).
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards
from atmp.core.explain import justify
from atmp.core.rules.ontology import load_model

from benchmarks.cardgen import generate_cards

ROOT = Path(__file__).resolve().parents[1]


def _file_cards(path: Path) -> list[dict]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "provenance"} for c in raw])
    return cards


SETS = {
    "examples": lambda: _file_cards(ROOT / "tests" / "fixtures" / "examples" / "cards.json"),
    "catalogue": lambda: _file_cards(ROOT / "catalogue" / "products.json"),
    "generated": lambda: generate_cards(300, seed=11, inconsistent_fraction=0.15),
}


def _brief(cards: list[dict], fast: bool, monkeypatch, lanes: int = 0) -> bytes:
    """Brief results from an empty justification cache: the reference path, or the bitsets one at a time, or on lanes."""
    model = load_model()
    for key in [k for k in model.memo if k.startswith("justify_cache")]:
        del model.memo[key]
    monkeypatch.setattr(justify, "FAST", fast)
    monkeypatch.setattr(justify, "LANES", lanes)
    monkeypatch.setattr(justify, "LANES_MIN", 1)  # the examples are a small batch: on lanes too
    return orjson.dumps(classify_cards(cards, model=model, explain="brief"), option=orjson.OPT_INDENT_2)


def _same(name: str, reference: bytes, other: bytes, what: str) -> None:
    if other != reference:  # name the first product that differs
        ref_rows, rows = orjson.loads(reference), orjson.loads(other)
        differs = next(r["id"] for r, f in zip(ref_rows, rows, strict=True) if r != f)
        pytest.fail(f"{name}: the {what} brief differs from the reference for {differs}")


@pytest.mark.parametrize("name", sorted(SETS))
def test_fast_briefs_are_the_reference_brief(name, monkeypatch):
    cards = SETS[name]()
    reference = _brief(cards, False, monkeypatch)
    assert b'"kind": "fact"' in reference  # the comparison covers card-fact reasons, not only rule citations
    _same(name, reference, _brief(cards, True, monkeypatch), "bitset")
    _same(name, reference, _brief(cards, True, monkeypatch, lanes=250), "lane")


def test_lanes_answer_the_searches_and_leave_unsettled_cycles_to_the_scalar_path(monkeypatch):
    """On lanes, no conclusion is searched one change at a time; if a cyclic group did not settle, every one would be, with the same bytes."""
    from atmp.core.classify import evaluator_for
    from atmp.core.explain import lanes
    from atmp.core.rules.namespaces import ATMP

    cards = generate_cards(120, seed=5)
    calls = {"one at a time": 0}
    original = justify.Search.changes

    def counted(self, changes):
        calls["one at a time"] += 1
        return original(self, changes)

    monkeypatch.setattr(justify.Search, "changes", counted)
    on_lanes = _brief(cards, True, monkeypatch, lanes=64)
    assert calls["one at a time"] == 0
    cc = evaluator_for(load_model()).compiled_for(frozenset({ATMP.Product}))
    kept = cc.__dict__.pop("_lanes", None)
    monkeypatch.setattr(lanes, "LIMIT", 1)  # one pass cannot confirm that a cyclic group has settled
    try:
        unsettled = _brief(cards, True, monkeypatch, lanes=64)
    finally:
        cc.__dict__.pop("_lanes", None)
        if kept is not None:
            cc.__dict__["_lanes"] = kept
    assert calls["one at a time"] > len(cards) * 100
    assert unsettled == on_lanes


def test_fast_brief_builds_no_changed_contexts(monkeypatch):
    """Every counterfactual of the generated cards is answered on the bitsets: no changed-facts context is made."""
    from atmp.core.engines.evaluator import Evaluator

    cards = generate_cards(100, seed=5)
    made = []
    original = Evaluator.product_context
    monkeypatch.setattr(Evaluator, "product_context", lambda self, facts: made.append(facts.iri) or original(self, facts))
    _brief(cards, True, monkeypatch)
    assert len(made) == len(cards)  # one context per card, the product's own
    made.clear()
    _brief(cards, False, monkeypatch)
    assert len(made) > len(cards) * 10  # the reference path builds one per distinct change
