"""The benchmark card generator (benchmarks/cardgen.py) and the hypothesis strategy built on it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from atmp.core.card.schema import load_cards
from atmp.core.result.validate import validate_cards
from atmp.core.rules.resources import schema_file
from hypothesis import HealthCheck, given, settings
from rdflib import URIRef

from benchmarks import cardgen
from benchmarks.cardgen import ABSENT, BREAKERS, EMPTY, OMIT_ONLY_AS, generate, generate_cards, missing_items, vocabulary, vocabulary_items
from benchmarks.reference import load_shapes, pyshacl_codes, shape_codes
from tests.conftest import ROOT
from tests.strategies import card_batches, cards


def test_vocabulary_is_the_schemas():
    schema = json.loads(schema_file("product-card.schema.json").read_text(encoding="utf-8"))
    for section in cardgen.SECTIONS:
        # every field with values to vary; free text no rule reads (an object of strings: the indication) is left out
        props = {k: s for k, s in schema["properties"][section]["properties"].items() if s.get("type") != "object"}
        assert {f.key for f in vocabulary().values() if f.section == section} == set(props)
        for key, spec in props.items():
            field = vocabulary()[f"{section}.{key}"]
            allowed = spec.get("enum") or spec.get("items", {}).get("enum") or [False, True]
            assert list(field.values) == allowed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cards_are_schema_valid_with_unique_ids(seed):
    batch = generate_cards(400, seed, inconsistent_fraction=0.2)
    assert load_cards(batch)[0] == batch  # the CLI's own gate: schema, id rules, duplicate ids


def test_deterministic_per_seed():
    assert generate_cards(120, 5) == generate_cards(120, 5)
    assert generate_cards(120, 5) != generate_cards(120, 6)
    assert generate_cards(30, 5) == generate_cards(120, 5)[:30]  # a prefix does not depend on n
    assert [c["id"] for c in generate_cards(3, 5, id_prefix="load")] == ["load-5-000000", "load-5-000001", "load-5-000002"]
    # switching inconsistent cards on changes only which cards are built, not the consistent stream's seed
    assert generate(50, 5, 0.3) == generate(50, 5, 0.3)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_100_cards_exercise_the_whole_vocabulary(seed):
    items = vocabulary_items()
    assert ("substance.cell_type", None) in items and ("substance.origin", ABSENT) in items and ("process.manipulations", EMPTY) in items
    assert missing_items(generate_cards(100, seed)) == []


def test_consistent_cards_conform():
    """5,000 cards on the compiled shapes (a rule the generator misses can be rare: the vector 'cell' with
    genetic_modification was 19 cards in 10,000), the first 200 also on pyshacl."""
    batch = generate_cards(5000, 11)
    reports = validate_cards(_model(), batch)
    assert [(r["id"], r["violations"]) for r in reports if not r["conforms"]] == []
    # and pyshacl on the plain facts agrees (the reference, independent of the project's SHACL path)
    assert {i: c["violations"] for i, c in pyshacl_codes(_model(), batch[:200]).items() if c["violations"]} == {}


def test_vectors_without_genes_are_read_from_the_shape(tmp_path, monkeypatch):
    """The generator's NO_GENES is the shape's sh:in list: an edited shape changes it, a missing one fails loudly."""
    from atmp.core.rules.resources import shapes_dir

    assert cardgen.NO_GENES == {"none", "cell"}
    text = (shapes_dir() / "product-shapes.ttl").read_text(encoding="utf-8")
    listed = "sh:in ( atmp:vector_none atmp:vector_cell )"
    assert text.count(listed) == 1
    (tmp_path / "product-shapes.ttl").write_text(text.replace(listed, "sh:in ( atmp:vector_none )"), encoding="utf-8")
    monkeypatch.setenv("ATMP_SHAPES", str(tmp_path))
    assert cardgen._shape_in("genetic_modification_needs_material", "hasVector") == {"none"}
    with pytest.raises(LookupError, match="no_such_shape"):
        cardgen._shape_in("no_such_shape", "hasVector")
    with pytest.raises(LookupError, match="hasPlatform"):
        cardgen._shape_in("genetic_modification_needs_material", "hasPlatform")


def test_each_breaker_contradicts_exactly_its_shape():
    batch = generate(len(BREAKERS) * 4, 12, inconsistent_fraction=1.0)
    assert {g.broken for g in batch} == set(BREAKERS)
    reports = validate_cards(_model(), [g.card for g in batch])
    assert [(g.broken, [v["code"] for v in r["violations"]]) for g, r in zip(batch, reports, strict=True) if [v["code"] for v in r["violations"]] != [g.broken]] == []
    reference = pyshacl_codes(_model(), [g.card for g in batch])
    assert [(g.broken, reference[g.card["id"]]["violations"]) for g in batch if reference[g.card["id"]]["violations"] != [g.broken]] == []


def test_a_breaker_for_every_violation_shape():
    """A new Violation shape needs a breaker (and, most likely, a new rule in build_card)."""
    assert set(BREAKERS) == shape_codes(load_shapes())["Violation"]


def test_inconsistent_fraction():
    batch = generate(1000, 13, inconsistent_fraction=0.1)
    broken = sum(g.broken is not None for g in batch)
    assert 60 < broken < 140
    assert all(g.broken is None for g in generate(200, 13))


def test_fields_left_out_only_where_absence_means_that_value():
    model = _model()
    for field, value in OMIT_ONLY_AS.items():
        default = model.property_for(field).default
        assert (model.code_of[default] if isinstance(default, URIRef) else default) == value, field
    for card in generate_cards(300, 14):
        if card["substance"]["kind"] == "cells":  # never left out: kind cells needs both
            assert card["substance"].get("cell_type") and card["substance"].get("origin") not in (None, "not_applicable")


def test_command_line_writes_a_json_array():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.cardgen", "5", "--seed", "3"], cwd=ROOT, capture_output=True, timeout=120, check=True)
    assert json.loads(proc.stdout) == generate_cards(5, 3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card=cards(inconsistent=True))
def test_strategy_cards_are_schema_valid(card):
    load_cards(card)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=card_batches(1, 12))
def test_strategy_cards_conform(batch):
    load_cards(batch)
    assert [(r["id"], r["violations"]) for r in validate_cards(_model(), batch) if not r["conforms"]] == []


def _model():
    from atmp.core.rules.ontology import load_model

    return load_model()
