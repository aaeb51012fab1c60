"""Brief explanations are proofs: the reasons suffice, each one is necessary, and they are read off one walk.

The oracle (``tests/oracle.py``) is the counterfactual search the run-time path no longer does:

* sufficiency, on every entry of every example and catalogue product: the deciding definition, evaluated on the
  reasons alone (every other card fact unknown, cited conclusions as given), gives the conclusion;
* necessity of every card-fact reason: undoing it (its witnesses removed, its value changed, a code added where it
  says "none", all the branches of "any one of these" at once) moves the conclusion on some such edit. The one
  way a fact can fail this, a fact that picks one member of a union while another member would take over when it
  changes (a lentivirus makes a CAR-T "fit the viral-vector description"; a plasmid would make it fit the nucleic-acid
  one, and the priority stands), is allowed and checked to be exactly that;
* a conclusion of one regime cites no rule of another regime's documents (a JP answer never cites N).

``benchmarks/proof_minimality.py`` gives the same figures on 10,000 generated cards, per class.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from atmp.core.card.facts import card_facts
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards
from atmp.core.explain import proof
from atmp.core.explain.words import render, source_words
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import load_model
from atmp.core.rules.resources import RESULT_SCHEMA, schema
from jsonschema import Draft202012Validator

from . import oracle
from .conftest import without_explanations

ROOT = Path(__file__).resolve().parents[1]
SETS = {"examples": ROOT / "tests" / "fixtures" / "examples" / "cards.json", "catalogue": ROOT / "catalogue" / "products.json"}


def _cards(name: str) -> list[dict]:
    raw = json.loads(SETS[name].read_text(encoding="utf-8"))
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "provenance"} for c in raw])
    return cards


def entries(result: dict) -> list[dict]:
    return result["explanation"] + [e for block in ("eu", "us", "jp") if block in result for e in result[block]["explanation"]]


@pytest.fixture(scope="module", params=sorted(SETS))
def brief(request):
    cards = _cards(request.param)
    return cards, classify_cards(cards, explain="brief")


def test_the_reasons_suffice(brief):
    model = load_model()
    cards, results = brief
    failing = [(r["id"], e["conclusion"]) for r in results for e in entries(r) if not oracle.sufficient(model, e)]
    assert not failing, failing[:5]


def _switches_branch(model, card: dict, entry: dict, reason: dict) -> bool:
    """Is ``reason`` a fact that picks one member of a union, another member taking over when it changes?"""
    facts = card_facts(model, card)
    for change in oracle.kills(model, facts, reason, {"": entry})[:50]:
        changed = {**card, "id": card["id"] + "-changed"}
        for iri, values in change.items():
            prop = next(p for p in model.properties if p.iri == iri)
            codes = [v if isinstance(v, bool) else model.code_of[v] for v in values]
            part = changed.setdefault(prop.section, {}) if prop.section not in changed else dict(changed[prop.section])
            changed[prop.section] = {**part, prop.key: codes if (prop.is_object and not prop.functional) else (codes[0] if codes else None)}
        (again,) = classify_cards([changed], explain="brief")
        same = [e for e in entries(again) if e["rule"] == entry["rule"]]
        if same and same[0]["because"] != entry["because"]:
            return True  # the conclusion stands on other reasons: another branch of the definition
    return False


def test_every_fact_reason_is_necessary_or_a_branch_of_a_union(brief):
    model = load_model()
    cards, results = brief
    total, unexplained, switching = 0, [], 0
    for card, result in zip(cards, results, strict=True):
        refs = {e["rule"]: e for e in entries(result)}
        for entry in entries(result):
            total += 1
            for reason in oracle.unnecessary(model, card, entry, refs, negated_rules=False):
                if _switches_branch(model, card, entry, reason):
                    switching += 1
                else:
                    unexplained.append((card["id"], entry["conclusion"], reason))
    assert total > len(cards) * 10
    assert not unexplained, unexplained[:5]
    assert switching <= total * 0.05, f"{switching} of {total} entries: more branch switching than the rule book had (3.4 % on the catalogue)"


def test_a_regime_cites_only_its_own_documents(brief):
    """A fact's rule is cited only when it shares a document family with the deciding rule (issue 28.5)."""
    model = load_model()
    _, results = brief
    wrong = []
    for r in results:
        for e in entries(r):
            family = proof.families(model, ATMP[e["rule"]])
            for b in e["because"]:
                for item in [b] if b["kind"] != "any" else [x for branch in b["of"] for x in branch]:
                    if item.get("rule") and item["kind"] in ("fact", "default") and not proof.families(model, ATMP[item["rule"]]) & family:
                        wrong.append((r["id"], e["conclusion"], item["rule"]))
    assert not wrong, wrong[:5]


def test_every_entry_reads_in_both_languages_and_cites_its_rule(brief):
    model = load_model()
    _, results = brief
    for r in results:
        for e in entries(r):
            words = render(model, e)
            assert words["text"]["en"] and words["text"]["zh"] and words["headline"]["en"] and words["headline"]["zh"]
            first = e["source"].split("; ")[0]  # the deciding rule's first citation, as each language writes it
            for lang in ("en", "zh"):
                assert source_words(model, first, lang) in words["text"][lang], (e["conclusion"], lang, words["text"][lang])
            assert "." not in words["headline"]["en"].split(":")[0] or "(" in words["headline"]["en"], words["headline"]  # words, not field paths


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
    assert sum(len(orjson.dumps(r)) for r in results) * 2 < sum(len(orjson.dumps(r)) for r in full)


def test_not_an_atmp_cites_the_same_rule_at_every_level():
    """``atmp = false`` is told by the class of the applied exclusion (atmp:NotAnATMP) at full and brief (issue 29.4)."""
    cards = [c for c in _cards("examples")]
    full = classify_cards(cards)
    brief_ = classify_cards(cards, explain="brief")
    pairs = [(f["explanation"][0], b["explanation"][0]) for f, b in zip(full, brief_, strict=True) if not f["atmp"]]
    assert pairs
    for f, b in pairs:
        assert f["conclusion"] == b["conclusion"] == "atmp = false"
        assert f["rule"] == b["rule"] and f["source"] == b["source"], (f["rule"], b["rule"])


def test_priority_rule_is_named():
    model = load_model()
    cards = [c for c in _cards("examples") if c["id"] == "equecabtagene-autoleucel"]
    entry = next(e for e in classify_cards(cards, explain="brief")[0]["explanation"] if e["conclusion"].startswith("nmpa.subclass"))
    assert [b for b in entry["because"] if b["kind"] == "priority"]
    text = render(model, entry)["text"]
    assert "N 263-271" in text["en"] and "ranks" in text["en"] and "规定优先归入" in text["zh"]


def test_contract_decisions_are_named_by_their_label():
    model = load_model()
    cards = _cards("examples")
    words = [render(model, e)["text"] for r in classify_cards(cards, explain="brief") for e in entries(r)]
    assert any("Contract decision 5: Exclusions, in this order" in w["en"] for w in words)
    assert any("契约决定5：排除情形及其顺序" in w["zh"] for w in words)
    assert not any("Contract decision 5" in w["zh"] for w in words)


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


def test_proof_cache_stays_bounded_and_clearing_it_changes_no_answer(monkeypatch):
    """The per-model proof cache starts afresh past ``CACHE_LIMIT``; answers are the same bytes either way."""
    from benchmarks.cardgen import generate_cards

    cards = generate_cards(300, seed=29)
    model = load_model()

    def run() -> bytes:
        model.memo.pop("proof_cache", None)
        return orjson.dumps(classify_cards(cards, model=model, explain="brief"))

    unbounded = run()
    assert len(model.memo["proof_cache"]) > 20, "the batch must outgrow the small limit, or the test proves nothing"
    monkeypatch.setattr(proof, "CACHE_LIMIT", 20)
    bounded = run()
    assert len(model.memo["proof_cache"]) <= 21
    assert bounded == unbounded
