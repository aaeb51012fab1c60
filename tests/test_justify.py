"""Brief explanations are justifications: dropping any one reason changes the conclusion.

For every conclusion of every example and catalogue product, each reason that rests on the card
(kind ``fact`` or ``default``) carries the card edit that drops it (a code removed, a value made
absent, a flag flipped, an absent value stated); the edited card is classified again by the whole
pipeline and the conclusion must no longer hold. And ``--explain none`` is ``full`` minus explanations.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards
from atmp.core.explain.justify import apply_edit
from atmp.core.rules.resources import RESULT_SCHEMA, schema
from jsonschema import Draft202012Validator

from .conftest import without_explanations

ROOT = Path(__file__).resolve().parents[1]
SETS = {"examples": ROOT / "tests" / "fixtures" / "examples" / "cards.json", "catalogue": ROOT / "catalogue" / "products.json"}
CARD_KINDS = {"fact", "default"}


def _cards(name: str) -> list[dict]:
    raw = json.loads(SETS[name].read_text(encoding="utf-8"))
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "provenance"} for c in raw])
    return cards


def holds(result: dict, conclusion: str) -> bool:
    """Does ``result`` still carry ``conclusion`` (as the explanation names it)?"""
    if conclusion.startswith("borderline: "):
        return conclusion.split(": ", 1)[1] in {b["code"] for b in result["borderline"]}
    if " includes " in conclusion:
        return int(conclusion.rsplit(" ", 1)[1]) in result["tianjin"]["criteria"]
    field, value = conclusion.split(" = ", 1)
    if field == "atmp":
        return result["atmp"] is (value == "true")
    node = result
    for part in field.split("."):
        node = node[part]
    return str(node) == value


@pytest.fixture(scope="module", params=sorted(SETS))
def brief(request):
    cards = _cards(request.param)
    return cards, classify_cards(cards, explain="brief")


def test_every_reason_is_needed(brief):
    cards, results = brief
    trials, where = [], []
    for card, result in zip(cards, results, strict=True):
        for entry in result["explanation"]:
            assert holds(result, entry["conclusion"]), (card["id"], entry["conclusion"])
            for reason in entry["because"]:
                if reason["kind"] in CARD_KINDS:
                    edited = card
                    for edit in reason["changes"]:
                        edited = apply_edit(edited, edit)
                    trials.append({**edited, "id": f"{card['id']}--{len(trials)}"})  # ids stay unique within a batch
                    where.append((card["id"], entry["conclusion"], reason["changes"]))
    assert len(trials) > len(cards) * 5
    again = classify_cards(trials, explain="none")
    kept = [w for w, r in zip(where, again, strict=True) if holds(r, w[1])]
    assert not kept, f"reasons whose drop leaves the conclusion standing: {kept[:5]}"


def test_every_conclusion_rests_on_the_card_and_cites_its_rule(brief):
    cards, results = brief
    bare = []
    for result in results:
        for entry in result["explanation"]:
            kinds = {b["kind"] for b in entry["because"]}
            assert "rule" in kinds and entry["source"], entry
            assert entry["text"]["zh"] and entry["text"]["en"] and entry["source"] in entry["text"]["en"]
            rests_on = [b["rule"] for b in entry["because"] if b["kind"] == "rule" and b["rule"] != entry["rule"]]
            explained = {e["rule"] for e in result["explanation"] if {b["kind"] for b in e["because"]} & CARD_KINDS}
            if not kinds & CARD_KINDS and not set(rests_on) & explained:  # facts, or a conclusion resting on one with facts
                bare.append((result["id"], entry["conclusion"]))
    assert not bare, f"conclusions with no deciding card fact: {bare[:5]}"


def test_levels_differ_only_in_explanations(brief):
    cards, results = brief
    full = classify_cards(cards)
    none = classify_cards(cards, explain="none")
    validator = Draft202012Validator(schema(RESULT_SCHEMA))
    for f, n, b in zip(full, none, results, strict=True):
        assert n == without_explanations(f)
        assert without_explanations(b) == without_explanations(f)
        assert [e["conclusion"] for e in b["explanation"]] == [e["conclusion"] for e in f["explanation"]]
        for r in (f, n, b):
            validator.validate(r)
    assert sum(len(orjson.dumps(r)) for r in results) * 3 < sum(len(orjson.dumps(r)) for r in full) * 2


def test_priority_rule_is_named():
    cards = [c for c in _cards("examples") if c["id"] == "equecabtagene-autoleucel"]
    entry = next(e for e in classify_cards(cards, explain="brief")[0]["explanation"] if e["conclusion"].startswith("nmpa.subclass"))
    priority = [b for b in entry["because"] if b["kind"] == "priority"]
    assert priority and "N 263-271" in priority[0]["en"] and "ranks" in priority[0]["en"]


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="explanation level"):
        classify_cards(_cards("examples")[:1], explain="short")


def test_cli_writes_brief_to_a_pipe_and_none_on_request(tmp_path, capsysbinary):
    from atmp.cli import main

    cards = _cards("examples")[:4]
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(cards), encoding="utf-8")
    assert main(["classify", str(path)]) == 0  # stdout captured: not a terminal
    assert json.loads(capsysbinary.readouterr().out) == classify_cards(cards, explain="brief")
    assert main(["classify", str(path), "--explain", "none"]) == 0
    assert json.loads(capsysbinary.readouterr().out) == [without_explanations(r) for r in classify_cards(cards)]


def test_brief_caches_stay_bounded_and_clearing_them_changes_no_answer(monkeypatch):
    """What bounds a brief batch's memory: the per-model search and sentence caches start afresh past ``CACHE_LIMIT``.

    The end-to-end RSS test (tests/test_streaming.py) runs full explanations; brief's growth is its
    bounded caches, checked here directly with a small limit, and the answers must be the same bytes
    as with the caches never cleared. Peak RSS of brief at 100,000 cards is in benchmarks/run.py.
    """
    from atmp.core.explain import justify
    from atmp.core.rules.ontology import load_model

    from benchmarks.cardgen import generate_cards

    cards = generate_cards(600, seed=29)
    model = load_model()
    caches = ("justify_cache", "justify_fact_text")

    def run() -> bytes:
        for key in caches:
            model.memo.pop(key, None)
        return orjson.dumps(classify_cards(cards, model=model, explain="brief"))

    unbounded = run()
    assert all(len(model.memo[k]) > 100 for k in caches), "the batch must outgrow the small limit, or the test proves nothing"
    monkeypatch.setattr(justify, "CACHE_LIMIT", 100)
    bounded = run()
    assert all(len(model.memo[k]) <= 101 for k in caches), {k: len(model.memo[k]) for k in caches}
    assert bounded == unbounded
