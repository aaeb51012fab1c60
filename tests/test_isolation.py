"""One card never loses a batch (issue 27): cards drawn from the whole schema, a rule book edited to overlap, a defect.

* Any card the schema allows — most of them contradict themselves — is classified, validated, varied (what-if),
  reported and answered over HTTP without an exception, and every card of a batch gets a result that the result
  schema accepts.
* A rule book with two overlapping definitions of one single-valued field: the card in both gets a
  ``rule_conflict`` violation naming the field, both classes and their sources, with the field left empty; the
  other cards are answered as before; ``atmp classify`` writes every result and exits 1; HTTP answers 200.
* A defect on one card (an engine that raises): that card's result carries ``internal_error``, every other card
  is classified and written, and ``atmp classify`` exits 3 only after the output is complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from atmp.analysis.report import gather, render
from atmp.analysis.whatif import whatif
from atmp.cli import main
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards
from atmp.core.result.validate import validate_cards
from atmp.core.rules.layout import INTERNAL_ERROR, RULE_CONFLICT
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import load_model
from atmp.core.rules.resources import RESULT_SCHEMA, ontology_file, schema
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from rdflib import Graph

from .strategies import any_card_batches, any_cards
from .test_qc import _drop_complement

RESULTS = Draft202012Validator(schema(RESULT_SCHEMA))
# a card in both US pathways when NDA loses "and not an HCT/P" (the overlap issue 27 found in 2 of 10,000 random cards)
OVERLAP_CARD = {
    "id": "til-with-oligo",
    "substance": {
        "kind": "cells",
        "cell_type": "tumour_infiltrating_lymphocyte",
        "origin": "autologous",
        "nucleic_acid": "antisense_oligonucleotide",
        "payload": "genetic_material",
    },
    "process": {"manipulations": ["filtration", "chemical_synthesis"], "combined_with": []},
    "function": {"intended_use": "treatment", "mechanism": ["immunological"], "homologous_use": True, "systemic_effect": False},
}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory) -> Path:
    """The ontology with NDA's "and not an HCT/P" taken out, as an editor deleting it in Protégé would."""
    g = Graph().parse(ontology_file())
    _drop_complement(g, ATMP.UsNewDrugApplication, ATMP.UsHumanCellOrTissueProduct)
    path = tmp_path_factory.mktemp("overlap") / "atmp.ttl"
    g.serialize(path, format="turtle", encoding="utf-8")
    return path


def _all_valid(results: list[dict], cards: list[dict]) -> None:
    assert [r["id"] for r in results] == [c["id"] for c in cards]
    for r in results:
        errors = sorted(RESULTS.iter_errors(r), key=str)
        assert not errors, (r["id"], errors[0].message)
        assert all(v.get("code") != INTERNAL_ERROR for v in r["violations"]), r["violations"]


@SETTINGS
@given(any_card_batches(max_size=6))
def test_any_schema_valid_batch_is_classified_at_every_level(batch):
    cards, _ = load_cards(batch)  # the strategy draws only what the schema allows
    for level in ("brief", "full", "none"):
        _all_valid(classify_cards(cards, explain=level), cards)
    reports = validate_cards(load_model(), cards)
    assert [r["id"] for r in reports] == [c["id"] for c in cards]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_cards())
def test_any_card_has_a_whatif_and_a_report(card):
    report = whatif(card, max_pairs=20)
    assert report["id"] == card["id"] and report["variants"] == len(report["changes"])
    (data,) = gather([card], whatif_pairs=20)
    for lang in ("en", "zh"):
        assert render(data, lang, "md")


@pytest.fixture(scope="module")
def service():
    """One running service (its lifespan starts the card workers) for every drawn batch."""
    from atmp.http.app import Settings, create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(max_batch=40, max_body_bytes=400_000, sparql_timeout=3.0, sparql_max_results=100, sparql_workers=1))) as client:
        yield client


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=any_card_batches(max_size=4))
def test_http_answers_any_schema_valid_batch(service, batch):
    for path in ("/classify", "/validate", "/classify?explain=brief"):
        response = service.post(path, json=batch)
        assert response.status_code == 200, (path, response.text[:300])
    response = service.post("/report?format=md", json=batch[0])
    assert response.status_code == 200, response.text[:300]


def test_a_rule_conflict_is_a_finding_and_the_batch_is_answered(overlapping):
    model = load_model(overlapping)
    other = json.loads((Path(__file__).parent / "fixtures" / "examples" / "cards.json").read_text(encoding="utf-8"))[0]
    cards, _ = load_cards([other, OVERLAP_CARD])
    before = classify_cards([other])[0]
    after, conflicted = classify_cards(cards, model=model, explain="brief")
    assert {k: v for k, v in after.items() if k not in ("explanation", "us", "eu", "jp", "rule_version")} == {
        k: v for k, v in before.items() if k not in ("explanation", "us", "eu", "jp", "rule_version")
    }
    assert conflicted["us"]["pathway"] is None and not conflicted["conforms"]
    (finding,) = [v for v in conflicted["violations"] if v["code"] == RULE_CONFLICT]
    assert finding["field"] == "us.pathway" and set(finding["classes"]) == {"UsSection361HCTP", "UsNewDrugApplication"}
    assert "21 CFR 1271.10(a)" in finding["source"] and "FD&C Act 505" in finding["source"]
    assert "US pathway" in finding["message"]["en"] and "美国监管路径" in finding["message"]["zh"]
    assert not any(e["conclusion"].startswith("us.pathway") for e in conflicted["us"]["explanation"])
    assert RESULTS.is_valid(conflicted), sorted(RESULTS.iter_errors(conflicted), key=str)[:1]


def test_the_cli_writes_every_result_and_exits_1_on_a_conflict(overlapping, tmp_path, capsys):
    lines = [
        json.dumps({**OVERLAP_CARD, "id": f"card-{i}"})
        if i % 3 == 1
        else json.dumps({**OVERLAP_CARD, "id": f"card-{i}", "substance": {"kind": "cells", "cell_type": "t_cell", "origin": "autologous"}})
        for i in range(9)
    ]
    source = tmp_path / "cards.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    status = main(["--ontology", str(overlapping), "classify", str(source), "-o", str(out), "--jobs", "1"])
    err = capsys.readouterr().err
    assert status == 1
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in results] == [f"card-{i}" for i in range(9)]
    assert sorted(line.split(": ")[2] for line in err.splitlines() if "rule conflict" in line) == ["card card-1", "card card-4", "card card-7"]


def test_a_defect_on_one_card_is_its_finding_and_the_cli_exits_3_after_writing_everything(monkeypatch, tmp_path, capsys):
    from atmp.core import classify as path

    real = path.assemble

    def broken(model, card, *args, **kwargs):
        if card["id"] == "broken":
            raise RuntimeError("a defect in this card's path")
        return real(model, card, *args, **kwargs)

    monkeypatch.setattr(path, "assemble", broken)
    cards = [{**OVERLAP_CARD, "id": name} for name in ("first", "broken", "last")]
    results = classify_cards(cards)
    assert [r["id"] for r in results] == ["first", "broken", "last"]
    assert [v["code"] for v in results[1]["violations"]] == [INTERNAL_ERROR] and results[1]["nmpa"]["class"] is None
    assert "a defect in this card's path" in results[1]["violations"][0]["message"]["en"]
    assert RESULTS.is_valid(results[1])
    assert all(r["conforms"] is not None and not any(v["code"] == INTERNAL_ERROR for v in r["violations"]) for r in (results[0], results[2]))
    source = tmp_path / "cards.json"
    source.write_text(json.dumps(cards), encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["classify", str(source), "-o", str(out), "--jobs", "1"]) == 3
    assert [r["id"] for r in json.loads(out.read_text(encoding="utf-8"))] == ["first", "broken", "last"]
    err = capsys.readouterr().err.splitlines()
    assert err == [line for line in err if line.startswith("atmp: internal error: card broken: ")] and len(err) == 1


def test_http_answers_200_with_the_finding_for_a_conflict(overlapping, monkeypatch):
    from atmp.http.app import Settings, create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("ATMP_ONTOLOGY", str(overlapping))
    with TestClient(create_app(Settings(max_batch=40, max_body_bytes=200_000, sparql_timeout=3.0, sparql_max_results=100, sparql_workers=1))) as client:
        response = client.post("/classify", json=[OVERLAP_CARD, {**OVERLAP_CARD, "id": "second"}])
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert all(any(v["code"] == RULE_CONFLICT for v in r["violations"]) for r in body)


def test_an_integer_beyond_64_bits_in_an_open_field_is_no_internal_error(service):
    """The schema leaves unknown fields open, so ``{"x": 2**70}`` is valid input; the card workers' fast JSON writer
    cannot write such an integer and must not turn it into a 500 (found by schemathesis on /report?lang=both)."""
    card = {**OVERLAP_CARD, "id": "big", "extra": {"n": 2**70}}
    batch = json.dumps([card, {**card, "id": "big-2"}])
    for path in ("/classify", "/validate", "/validate?format=turtle", "/report?lang=both", "/workbench/decode"):
        response = service.post(path, content=batch, headers={"content-type": "application/json"})
        assert response.status_code == 200, (path, response.text[:300])
    assert service.post("/similar", content=json.dumps(card), headers={"content-type": "application/json"}).status_code == 200
