"""Precedents (issue 31): a distance read off the rules, differences in words, red flags, and the five products.

The measure's basic properties are proved on the catalogue and on variants of its cards:

* a product is nearest to itself (distance 0, and a copy under another id finds the original first);
* changing what no rule reads (label, indication, a property no rule class reads) moves no distance;
* a precedent the rules decide differently ranks below every one they decide alike, however many facts differ.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from atmp.analysis.diff import catalogue_cards
from atmp.analysis.similar import PrecedentBase, conclusions, precedent_base, render_markdown, render_table, similar
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards
from atmp.core.rules.ontology import load_model

FIVE = Path(__file__).parent / "fixtures" / "similar" / "not-in-catalogue.json"


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def catalogue():
    return catalogue_cards()


def _five() -> list[tuple[dict, dict]]:
    raw = json.loads(FIVE.read_text(encoding="utf-8"))
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "expect"} for c in raw])
    return list(zip(cards, (c["expect"] for c in raw), strict=True))


def test_a_product_is_nearest_to_itself(model, catalogue):
    base = precedent_base(model)
    for card in catalogue[::7]:
        (result,) = classify_cards([card], model=model, explain="none")
        mine = next(p for p in base.precedents if p.card["id"] == card["id"])
        assert base.distance(base._facts(card), conclusions(result), mine)[0] == 0
        copy = {**card, "id": card["id"] + "-copy"}
        first = similar(copy, k=1, model=model)["precedents"][0]
        assert first["distance"] == 0 and not first["differences"], (card["id"], first["id"])
        # the card itself is never its own precedent
        assert card["id"] not in [p["id"] for p in similar(card, k=3, model=model)["precedents"]]


def test_what_no_rule_reads_moves_no_distance(model, catalogue):
    base = precedent_base(model)
    unread = [p for p in base.props if base.weights()[p.iri] == 0]
    for card in catalogue[::23]:
        before = [(p["id"], p["distance"]) for p in similar(card, k=8, model=model)["precedents"]]
        relabelled = {**card, "label": {"en": "something else entirely"}, "function": {**card["function"], "indication": {"en": "another disease"}}}
        assert [(p["id"], p["distance"]) for p in similar(relabelled, k=8, model=model)["precedents"]] == before
        (result,) = classify_cards([card], model=model, explain="none")
        for prop in unread:  # a property no result class reads: the distance to every precedent stays
            other = next((c for c in prop.codes if (card.get(prop.section) or {}).get(prop.key) != c), None) if prop.is_object else None
            changed = json.loads(json.dumps(card))
            section = changed.setdefault(prop.section, {})
            section[prop.key] = (not section.get(prop.key)) if not prop.is_object else ([other] if not prop.functional else other)
            facts = base._facts(changed)
            for p in base.precedents[::11]:
                assert base.distance(facts, conclusions(result), p)[0] == pytest.approx(base.distance(base._facts(card), conclusions(result), p)[0])


def _variants(model, card: dict) -> list[dict]:
    """Every single-field change of ``card`` to another code or the other boolean, each a schema-valid card."""
    out = []
    for prop in model.properties:
        now = (card.get(prop.section) or {}).get(prop.key)
        options = [[c] if not prop.functional else c for c in prop.codes if c != now and [c] != now] if prop.is_object else [not bool(now)]
        for value in options[:4]:
            v = json.loads(json.dumps(card))
            v.setdefault(prop.section, {})[prop.key] = value
            v["id"] = f"{card['id']}-{prop.section}-{prop.key}-{len(out)}"
            try:
                (ok,), _ = load_cards([v])
            except Exception:  # noqa: BLE001, S112 - a combination the schema refuses is no variant
                continue
            out.append(ok)
    return out


@pytest.mark.parametrize("seed_id", ["tisagenlecleucel", "onasemnogene-abeparvovec", "holoclar"])
def test_one_deciding_change_ranks_below_all_non_deciding_ones(model, catalogue, seed_id):
    card = next(c for c in catalogue if c["id"] == seed_id)
    variants = _variants(model, card)
    (result,) = classify_cards([card], model=model, explain="none")
    mine = conclusions(result)
    answers = classify_cards(variants, model=model, explain="none")
    deciding = [v for v, r in zip(variants, answers, strict=True) if conclusions(r) != mine]
    quiet = [v for v, r in zip(variants, answers, strict=True) if conclusions(r) == mine]
    # pairs of non-deciding changes that together still decide nothing: more facts differ, no conclusion does
    for a, b in zip(quiet[::2], quiet[1::2], strict=False):
        both = json.loads(json.dumps(a))
        for section in ("substance", "process", "function"):
            for key, value in (b.get(section) or {}).items():
                if (card.get(section) or {}).get(key) != value:
                    both[section][key] = value
        both["id"] = a["id"] + "-and-more"
        ((ok,), _) = load_cards([both])
        if conclusions(classify_cards([ok], model=model, explain="none")[0]) == mine:
            quiet.append(ok)
    assert deciding and quiet, (len(deciding), len(quiet))
    base = PrecedentBase(model, [(v, {}) for v in deciding + quiet])
    facts = base._facts(card)
    far = {p.card["id"]: base.distance(facts, mine, p)[0] for p in base.precedents}
    assert max(far[v["id"]] for v in quiet) < min(far[v["id"]] for v in deciding)


def test_five_real_products_not_in_the_catalogue_find_sensible_precedents(model, catalogue):
    ids = {c["id"] for c in catalogue}
    for card, expect in _five():
        assert card["id"] not in ids
        report = similar(card, k=5, model=model)
        found = [p["id"] for p in report["precedents"]]
        assert set(found) & set(expect["near"]), (card["id"], found)
        for p in report["precedents"]:
            for d in p["differences"]:
                assert d["text"]["en"] and d["text"]["zh"] and "." not in d["text"]["en"].split(":")[0], d  # words, not field paths
        for lang in ("en", "zh"):
            assert render_markdown(report, lang) and render_table(report, lang)


def test_a_precedent_whose_decision_departs_from_the_rules_is_a_red_flag(model, catalogue):
    """A card like defibrotide (FDA: NDA drug; the rules read a nucleic acid as gene therapy under a BLA): the nearest
    precedent's decision and the card's answer differ, and the flag says why on both sides."""
    card = {**next(c for c in catalogue if c["id"] == "defibrotide"), "id": "a-defibrotide-like-mixture"}
    report = similar(card, k=3, model=model)
    assert report["precedents"][0]["id"] == "defibrotide"
    (flag,) = [f for f in report["red_flags"] if f["precedent"] == "defibrotide"]
    assert (flag["field"], flag["decided"], flag["agency"], flag["year"]) == ("us.pathway", "nda", "FDA", 2016)
    assert flag["ours"] != "nda" and flag["rule"] and flag["differences"] == []
    assert "Defitelio" in flag["text"]["en"] and "2016" in flag["text"]["en"] and "departs from the rules" in flag["text"]["en"]
    assert "去纤苷" in flag["text"]["zh"] and "2016年" in flag["text"]["zh"]
    # the same card with a fact that moves the US pathway: the difference is named as the reason
    moved = json.loads(json.dumps(card))
    moved["substance"]["nucleic_acid"] = "antisense_oligonucleotide"
    moved["process"]["manipulations"] = sorted({*moved["process"]["manipulations"], "chemical_synthesis"})
    ((moved,), _) = load_cards([moved])
    for f in similar(moved, k=3, model=model)["red_flags"]:
        assert f["text"]["en"]


def test_regime_weighs_only_that_regimes_fields(model, catalogue):
    card = next(c for c in catalogue if c["id"] == "tisagenlecleucel")
    report = similar({**card, "id": "x"}, k=3, regime="us", model=model)
    assert set(report["answers"]) == {f for f in report["answers"] if f.startswith("us.")} and report["answers"]
    with pytest.raises(ValueError, match="regime"):
        similar(card, regime="mars", model=model)


def test_cli_and_http(tmp_path, catalogue):
    card = {k: v for k, v in json.loads(FIVE.read_text(encoding="utf-8"))[0].items() if k != "expect"}
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card), encoding="utf-8")
    run = [sys.executable, "-m", "atmp.cli", "similar", str(path)]
    for fmt in ("table", "md", "json"):
        proc = subprocess.run([*run, "--format", fmt, "--lang", "zh"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    assert json.loads(subprocess.run([*run, "--format", "json", "-k", "2"], capture_output=True, text=True, timeout=120).stdout)["precedents"][1]["rank"] == 2
    bad = subprocess.run([*run, "--regime", "mars"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "regime" in bad.stderr and "Traceback" not in bad.stderr

    from atmp.http.app import Settings, create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(sparql_workers=1))) as client:
        r = client.post("/similar?k=3", json=card)
        assert r.status_code == 200 and [p["rank"] for p in r.json()["precedents"]] == [1, 2, 3]
        assert client.post("/similar?regime=mars", json=card).status_code == 422
        assert client.post("/similar", json=[card, {**card, "id": "other"}]).status_code == 422
        assert client.post("/similar", json={**card, "substance": {"kind": "cell"}}).status_code == 422


def test_the_report_has_a_precedents_section(model):
    from atmp.analysis.report import gather, render

    card, _ = _five()[0]
    (data,) = gather([card], model=model, whatif_pairs=10)
    for lang, heading in (("en", "8. Precedents"), ("zh", "八、先例")):
        text = render(data, lang, "md", model=model)
        assert heading in text and "Betibeglogene" in text


def test_the_service_finds_precedents_in_its_own_catalogue(tmp_path):
    """``atmp serve --catalogue`` serves its own products: /similar and the report compare with those, not the shipped ones."""
    from atmp.core.rules.resources import catalogue_file
    from atmp.http.app import Settings, create_app
    from fastapi.testclient import TestClient

    three = json.loads(catalogue_file().read_text(encoding="utf-8"))[:3]
    path = tmp_path / "products.json"
    path.write_text(json.dumps(three), encoding="utf-8")
    card, _ = _five()[0]
    with TestClient(create_app(Settings(sparql_workers=1, catalogue=path))) as client:
        r = client.post("/similar", json=card)
        assert r.status_code == 200 and r.json()["compared"] == 3
        assert {p["id"] for p in r.json()["precedents"]} == {c["id"] for c in three}
        report = client.post("/report?format=md&lang=en", json=card).text
        assert three[0]["label"]["en"] in report
