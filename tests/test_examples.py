"""Every case of the shared examples, with HermiT as the reasoner (the compiled path must agree)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from atmp.core.classify import classify_cards
from atmp.core.rules.resources import schema_file

from .conftest import FIXTURES, SHARED, load_cases

CASES = load_cases()


@pytest.fixture(scope="module")
def results(model):
    cards = [case["card"] for case in CASES]
    hermit = classify_cards(cards, engine="hermit", model=model)
    compiled = classify_cards(cards, engine="compiled", model=model)
    assert hermit == compiled
    return {r["id"]: r for r in hermit}


def _accepts(expected, value) -> bool:
    return value in expected if isinstance(expected, list) else value == expected


@pytest.mark.parametrize("case", CASES, ids=[c["card"]["id"] for c in CASES])
def test_example(case, results):
    exp = case["expected"]
    r = results[case["card"]["id"]]
    assert r["atmp"] is exp["atmp"]
    assert _accepts(exp["exclusion"], r["exclusion"])
    if exp["nmpa_subclass"] is None:
        assert r["nmpa"]["subclass"] is None
    else:
        assert r["nmpa"]["subclass"] in exp["nmpa_subclass"]
    for key, got in (("tianjin_subcategory", r["tianjin"]["subcategory"]), ("risk_tier", r["tianjin"]["risk_tier"])):
        allowed = exp[key]
        assert (got is None) if allowed is None else (got in allowed), f"{key}: {got!r} not in {allowed!r}"
    assert set(exp["criteria_must"]) <= set(r["tianjin"]["criteria"])
    assert not set(exp["criteria_must_not"]) & set(r["tianjin"]["criteria"])
    if exp["borderline_expected"]:
        assert r["borderline"], "a borderline entry is required"
    assert r["conforms"] is exp["conforms"]


def test_results_follow_the_result_schema(results):
    schema = json.loads(schema_file("result.schema.json").read_text(encoding="utf-8"))
    for r in results.values():
        jsonschema.validate(r, schema)


def test_every_conclusion_is_explained_with_sources_in_both_languages(results):
    for r in results.values():
        conclusions = {e["conclusion"] for e in r["explanation"]}
        assert f"atmp = {'true' if r['atmp'] else 'false'}" in conclusions
        if r["nmpa"]["subclass"]:
            assert f"nmpa.subclass = {r['nmpa']['subclass']}" in conclusions
        if r["tianjin"]["risk_tier"]:
            assert f"tianjin.risk_tier = {r['tianjin']['risk_tier']}" in conclusions
        for n in r["tianjin"]["criteria"]:
            assert f"tianjin.criteria includes {n}" in conclusions
        for entry in r["explanation"]:
            assert entry["source"], entry
            assert set(entry["text"]) >= {"en", "zh"} or entry["conclusion"] == "atmp = false"
            assert entry["because"], entry
            for item in entry["because"]:
                assert item["en"] and item["zh"]
        for b in r["borderline"]:
            assert b["source"] and b["message"]["en"] and b["message"]["zh"]


def test_explanations_name_card_facts(results):
    r = results["equecabtagene-autoleucel"]
    entry = next(e for e in r["explanation"] if e["conclusion"] == "tianjin.criteria includes 2")
    facts = {(i.get("field"), i.get("value")) for i in entry["because"]}
    assert ("substance.kind", "cells") in facts
    assert ("process.manipulations", "genetic_modification") in facts


def test_fixture_copy_matches_shared_examples():
    shared = SHARED / "examples" / "products.json"
    if not shared.exists():
        pytest.skip("../shared is not beside this clone")
    assert json.loads(shared.read_text(encoding="utf-8")) == json.loads((FIXTURES / "examples" / "products.json").read_text(encoding="utf-8"))


ANNOTATIONS = {"title", "description", "examples", "$comment"}


def _compatible(theirs: dict, ours: dict, where: str) -> list[str]:
    """Where ``ours`` is not a compatible extension of ``theirs``: every keyword of theirs unchanged (sub-schemas
    compared the same way) except an ``enum`` that keeps every value of theirs, in their order, and adds codes (a card
    vocabulary grown with the ontology, e.g. ``aptamer``); additions only optional properties of an object that
    allows them."""
    problems = []
    for key, value in theirs.items():
        if key == "enum" and isinstance(ours.get(key), list):
            kept = [v for v in ours[key] if v in value]
            if kept != value:
                problems.append(f"{where}/enum: changed")
        elif key == "properties":
            for name, sub in value.items():
                if name not in ours.get("properties", {}):
                    problems.append(f"{where}.{name}: missing")
                else:
                    problems += _compatible(sub, ours["properties"][name], f"{where}.{name}")
        elif isinstance(value, dict) and isinstance(ours.get(key), dict):
            problems += _compatible(value, ours[key], f"{where}/{key}")
        elif ours.get(key) != value:
            problems.append(f"{where}/{key}: changed")
    for key in set(ours) - set(theirs):
        if key in ANNOTATIONS or key.startswith("x-"):
            continue  # an annotation (what a value means, in words) accepts and refuses nothing
        problems.append(f"{where}/{key}: keyword added")
    added = set(ours.get("properties", {})) - set(theirs.get("properties", {}))
    if added and theirs.get("additionalProperties", True) is not True:
        problems.append(f"{where}: adds {sorted(added)} where the contract allows no other property")
    if added & set(ours.get("required", [])):
        problems.append(f"{where}: makes {sorted(added & set(ours['required']))} required")
    return problems


def test_bundled_schemas_match_shared_contract():
    """The bundled schemas are the shared contract, extended only compatibly: every shared keyword and property
    unchanged, additions only optional properties where the contract allows other properties (result ``warnings``,
    ``rule_version``, the ``eu``/``us``/``jp`` blocks and ``crosswalk``; card ``provenance`` and the crosswalk's
    optional card fields), so every document the shared contract accepts is accepted here."""
    for name in ("product-card.schema.json", "result.schema.json"):
        shared = SHARED / "contract" / name
        if not shared.exists():
            pytest.skip("../shared is not beside this clone")
        theirs, ours = json.loads(shared.read_text()), json.loads(schema_file(name).read_text())
        assert _compatible(theirs, ours, name) == []


def test_the_compatibility_check_sees_a_breaking_change():
    base = {"type": "object", "required": ["a"], "properties": {"a": {"enum": ["x", "y"]}, "s": {"type": "object", "additionalProperties": False, "properties": {}}}}
    assert _compatible(base, json.loads(json.dumps(base)), "t") == []
    narrowed = json.loads(json.dumps(base))
    narrowed["properties"]["a"]["enum"] = ["x"]
    closed = json.loads(json.dumps(base))
    closed["properties"]["s"]["properties"]["new"] = {"type": "string"}
    required = json.loads(json.dumps(base))
    required["properties"]["b"] = {}
    required["required"] = ["a", "b"]
    reordered = json.loads(json.dumps(base))
    reordered["properties"]["a"]["enum"] = ["y", "x", "z"]
    assert _compatible(base, narrowed, "t") and _compatible(base, closed, "t") and _compatible(base, required, "t")
    assert _compatible(base, reordered, "t")
    widened = json.loads(json.dumps(base))
    widened["properties"]["a"]["enum"] = ["x", "z", "y"]  # a code added: every card of theirs is still one of ours
    assert _compatible(base, widened, "t") == []
