"""The parts of the fast path that are not the reasoner: compiled shapes, the schema gate, shared caches, streamed output.

Each is held to the reference it replaces (pyshacl, jsonschema, a fresh evaluation, the in-memory
result), because "faster" is only worth having when the answers are the same.
"""

from __future__ import annotations

import copy
import json
import random
import warnings

import pytest
from atmp import cli
from atmp.core.card.schema import CardError, _fast_gate, _validator, parse_cards
from atmp.core.classify import Definitions, Evaluator, classify_cards, memberships_for
from atmp.core.result.validate import _compiled, validate_cards

from benchmarks.cardgen import generate_cards
from tests.conftest import FIXTURES, ROOT


def _catalogue() -> list[dict]:
    return json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mixed_cards() -> list[dict]:
    """Examples, catalogue and generated cards, a fifth of them self-contradictory."""
    cards = json.loads((FIXTURES / "examples" / "cards.json").read_text(encoding="utf-8")) + _catalogue()
    cards += generate_cards(250, seed=11, inconsistent_fraction=0.2)
    return list({c["id"]: c for c in cards}.values())


def test_compiled_shapes_report_exactly_what_pyshacl_reports(model, mixed_cards):
    memberships = memberships_for(mixed_cards, engine="compiled", model=model)
    fast = validate_cards(model, mixed_cards, memberships, engine="compiled")
    reference = validate_cards(model, mixed_cards, memberships, engine="pyshacl")
    assert fast == reference
    assert sum(not r["conforms"] for r in fast) >= 20, "the batch must exercise the Violation shapes"
    assert sum(bool(r["warnings"]) for r in fast) >= 50, "and the Warning shapes"


def test_shapes_the_compiler_does_not_know_fall_back_to_pyshacl(model, tmp_path, monkeypatch):
    """An edited shapes file using sh:pattern is validated by pyshacl, with a warning: never mis-read."""
    shapes = (ROOT / "shapes" / "product-shapes.ttl").read_text(encoding="utf-8")
    shapes += """
atmp:shape_id_pattern a sh:PropertyShape ;
    sh:targetClass atmp:Product ;
    sh:path atmp:hasSubstanceKind ;
    sh:pattern "cells$" ;
    sh:severity sh:Warning ;
    atmp:resultCode "kind_pattern" ;
    dcterms:source "test" ;
    sh:message "kind does not end in cells"@en , "测试"@zh .
"""
    (tmp_path / "product-shapes.ttl").write_text(shapes, encoding="utf-8")
    monkeypatch.setenv("ATMP_SHAPES", str(tmp_path))
    _compiled.cache_clear()
    cards = generate_cards(12, seed=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast = validate_cards(model, cards, engine="compiled")
    assert any("sh:pattern" in str(w.message) or "pattern" in str(w.message) for w in caught)
    assert fast == validate_cards(model, cards, engine="pyshacl")
    assert any("kind_pattern" in {e["code"] for e in r["warnings"]} for r in fast)


def _mutations(rng: random.Random, card: dict) -> dict:
    """A card with one field set to something the schema may or may not accept."""
    bad = copy.deepcopy(card)
    section = rng.choice(["substance", "process", "function"])
    key = rng.choice(list(bad[section]) + ["unknown_extra"])
    bad[section][key] = rng.choice([None, 1, "x", [], ["x"], {}, True, "cells", ["washing", "washing"], "t" * 5000])
    if rng.random() < 0.2:
        bad.pop(rng.choice(["id", "substance", "process", "function"]))
    if rng.random() < 0.1:
        bad["id"] = rng.choice(["", "a b", "é", "x" * 200, 7])
    return bad


def test_schema_gate_agrees_with_jsonschema():
    """fastjsonschema (draft 7) and jsonschema (2020-12) give the same verdict on valid and broken cards."""
    gate = _fast_gate()
    assert gate is not None
    rng = random.Random(20261123)
    cards = generate_cards(60, seed=2)
    samples = cards + [_mutations(rng, c) for c in cards for _ in range(8)]
    disagreements = []
    for card in samples:
        try:
            gate(card)
            fast_ok = True
        except Exception:  # noqa: BLE001
            fast_ok = False
        if fast_ok != _validator().is_valid(card):
            disagreements.append(card)
    assert not disagreements, disagreements[:2]
    assert sum(not _validator().is_valid(c) for c in samples) > 100, "the mutations must break cards"


def test_refused_cards_still_name_the_field():
    card = generate_cards(1, seed=3)[0]
    card["substance"]["kind"] = "cell"
    with pytest.raises(CardError) as err:
        parse_cards(json.dumps([generate_cards(1, seed=4)[0], card]).encode())
    assert str(err.value).startswith("[1].substance.kind: unknown code")


def test_shared_caches_do_not_depend_on_order(model):
    """Answers shared between products (per class and the values it reads) are the answers a fresh evaluation gives."""
    cards = generate_cards(120, seed=8, inconsistent_fraction=0.1)
    warm = classify_cards(cards, engine="compiled", model=model)  # uses the model's long-lived evaluator
    from atmp.core import classify as classify_module

    for order in (list(reversed(cards)), cards[1::2] + cards[::2]):
        fresh = Evaluator(Definitions.from_graph(model.graph))
        original = classify_module.evaluator_for
        classify_module.evaluator_for = lambda _m, ev=fresh: ev
        try:
            again = {r["id"]: r for r in classify_cards(order, engine="compiled", model=model)}
        finally:
            classify_module.evaluator_for = original
        assert [again[r["id"]] for r in warm] == warm


def test_streamed_output_is_the_in_memory_result(model, tmp_path, monkeypatch, capsysbinary):
    """``atmp classify`` writes chunk by chunk; the JSON read back is exactly classify_cards' list."""
    cards = generate_cards(23, seed=9, inconsistent_fraction=0.2)
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(cards), encoding="utf-8")
    monkeypatch.setattr(cli, "CHUNK", 5)
    assert cli.main(["classify", str(path), "--explain", "full"]) == 0
    streamed = json.loads(capsysbinary.readouterr().out)
    assert streamed == classify_cards(cards, engine="compiled", model=model)
    assert cli.main(["classify", str(path), "--pretty", "--explain", "full"]) == 0
    assert json.loads(capsysbinary.readouterr().out) == streamed
