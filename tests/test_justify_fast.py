"""The fast brief (re-decisions on the compiled bitsets, atmp.core.justify_fast) says exactly what the reference brief says.

The reference re-decides each counterfactual through a new ProductContext built from changed
facts; the fast path flips bits in the product's bitsets. Both are run from an empty justification
cache on the examples, the catalogue and 300 generated cards, and the serialised results must be
byte-identical (text, reasons, card edits, order).
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from atmp.core import justify
from atmp.core.card import load_cards
from atmp.core.classify import classify_cards
from atmp.core.ontology import load_model

from benchmarks.cardgen import generate_cards

ROOT = Path(__file__).resolve().parents[1]


def _file_cards(path: Path) -> list[dict]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "provenance"} for c in raw])
    return cards


SETS = {
    "examples": lambda: _file_cards(ROOT / "tests" / "fixtures" / "examples" / "cards.json"),
    "catalogue": lambda: _file_cards(ROOT / "catalogue" / "products.json"),
    "generated": lambda: generate_cards(300, seed=11),
}


def _brief(cards: list[dict], fast: bool, monkeypatch) -> bytes:
    """Brief results from an empty justification cache, with the fast path on or off."""
    model = load_model()
    for key in [k for k in model.memo if k.startswith("justify_cache")]:
        del model.memo[key]
    monkeypatch.setattr(justify, "FAST", fast)
    return orjson.dumps(classify_cards(cards, model=model, explain="brief"), option=orjson.OPT_INDENT_2)


@pytest.mark.parametrize("name", sorted(SETS))
def test_fast_brief_is_the_reference_brief(name, monkeypatch):
    cards = SETS[name]()
    reference = _brief(cards, False, monkeypatch)
    fast = _brief(cards, True, monkeypatch)
    assert b'"kind": "fact"' in reference  # the comparison covers card-fact reasons, not only rule citations
    if fast != reference:  # name the first product that differs
        ref_rows, fast_rows = orjson.loads(reference), orjson.loads(fast)
        differs = next(r["id"] for r, f in zip(ref_rows, fast_rows, strict=True) if r != f)
        pytest.fail(f"{name}: fast brief differs from the reference for {differs}")


def test_fast_brief_builds_no_changed_contexts(monkeypatch):
    """Every counterfactual of the generated cards is answered on the bitsets: no changed-facts context is made."""
    from atmp.core.evaluator import Evaluator

    cards = generate_cards(100, seed=5)
    made = []
    original = Evaluator.product_context
    monkeypatch.setattr(Evaluator, "product_context", lambda self, facts: made.append(facts.iri) or original(self, facts))
    _brief(cards, True, monkeypatch)
    assert len(made) == len(cards)  # one context per card, the product's own
    made.clear()
    _brief(cards, False, monkeypatch)
    assert len(made) > len(cards) * 10  # the reference path builds one per distinct change
