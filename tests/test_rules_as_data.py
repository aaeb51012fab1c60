"""No rule in Python: tier order, criteria by tier and what follows from them are read from the ontology.

Each drill edits a copy of the ontology the way an editor would in Protégé — take criterion 8 out of the medium
tier's definition; swap the ranks of two tiers — and checks that classification, the what-if neighbours, the
criteria plot's columns and dividers, and the tier columns of the cross-tabs all follow, with no code change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from atmp.analysis import plotting
from atmp.analysis.whatif import _ordered_neighbours
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards
from atmp.core.rules.layout import RISK_TIER
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import load_model
from atmp.core.rules.resources import catalogue_file, ontology_file
from rdflib import OWL, Graph, Literal
from rdflib.collection import Collection

from tests.conftest import ROOT


def _catalogue() -> list[dict]:
    raw = json.loads(catalogue_file().read_text(encoding="utf-8"))
    return load_cards([{k: v for k, v in c.items() if k != "provenance"} for c in raw])[0]


def _union_in_definition(g: Graph, cls) -> Collection:
    """The (one) owl:unionOf list inside a class's equivalentClass intersection."""
    for expr in g.objects(cls, OWL.equivalentClass):
        for part in Collection(g, g.value(expr, OWL.intersectionOf)):
            union = g.value(part, OWL.unionOf)
            if union is not None:
                return Collection(g, union)
    raise AssertionError(f"{cls} has no union in its definition")


@pytest.fixture(scope="module")
def criterion_8_out(tmp_path_factory) -> Path:
    g = Graph().parse(ontology_file())
    union = _union_in_definition(g, ATMP.MediumRiskProduct)
    kept = [c for c in union if c != ATMP.Criterion08Met]
    assert len(kept) == len(union) - 1, "criterion 8 was not in the medium tier's definition"
    union.clear()
    for c in kept:
        union.append(c)
    path = tmp_path_factory.mktemp("edit") / "criterion-8-out.ttl"
    g.serialize(path, format="turtle")
    return path


@pytest.fixture(scope="module")
def ranks_swapped(tmp_path_factory) -> Path:
    g = Graph().parse(ontology_file())
    high, low = g.value(ATMP.HighRiskProduct, ATMP.rank), g.value(ATMP.LowRiskProduct, ATMP.rank)
    g.set((ATMP.HighRiskProduct, ATMP.rank, Literal(int(low))))
    g.set((ATMP.LowRiskProduct, ATMP.rank, Literal(int(high))))
    path = tmp_path_factory.mktemp("edit") / "ranks-swapped.ttl"
    g.serialize(path, format="turtle")
    return path


def test_the_shipped_ontology_groups_criteria_by_tier() -> None:
    model = load_model()
    groups = {(rc.code if rc else None): numbers for rc, numbers in model.criteria_by_tier()}
    # every criterion appears once; the tiers that name criteria positively come first, in rank order
    every = sorted(rc.number for rc in model.result_classes if rc.number is not None)
    assert sorted(n for numbers in groups.values() for n in numbers) == every
    assert plotting.criteria_columns(model) == [n for numbers in groups.values() for n in numbers]
    assert model.codes(RISK_TIER)[0] == "high" and 8 in groups["medium"]


def test_criterion_8_out_of_medium_moves_classification_and_plot(criterion_8_out: Path) -> None:
    before_model, after_model = load_model(), load_model(criterion_8_out)
    groups = {(rc.code if rc else None): numbers for rc, numbers in after_model.criteria_by_tier()}
    assert 8 not in groups["medium"] and 8 in groups[None]
    assert plotting.criteria_dividers(after_model) != plotting.criteria_dividers(before_model)
    cols = plotting.criteria_columns(after_model)
    assert cols.index(8) > cols.index(10), "criterion 8 should leave the medium group in the plot"

    cards = _catalogue()
    before = classify_cards(cards, model=before_model)
    after = classify_cards(cards, model=after_model)
    moved = [(b, a) for b, a in zip(before, after, strict=True) if b["tianjin"]["risk_tier"] != a["tianjin"]["risk_tier"]]
    assert moved, "some catalogue product is medium by criterion 8 alone"
    medium = set(groups["medium"])
    for b, a in moved:
        assert (b["tianjin"]["risk_tier"], a["tianjin"]["risk_tier"]) == ("medium", "low")
        assert 8 in b["tianjin"]["criteria"] and not medium & set(b["tianjin"]["criteria"])
    # criterion 8 is still reported as met: it just no longer decides a tier
    assert all(b["tianjin"]["criteria"] == a["tianjin"]["criteria"] for b, a in moved)
    matrix = plotting.criteria_matrix(cards, after, model=after_model)
    assert list(matrix.columns) == cols


def test_swapped_ranks_reorder_every_view(ranks_swapped: Path) -> None:
    model = load_model(ranks_swapped)
    assert model.codes(RISK_TIER) == ["low", "medium", "high"]
    assert _ordered_neighbours(model, RISK_TIER, "low") == ["medium"]
    assert _ordered_neighbours(load_model(), RISK_TIER, "low") == ["medium"]
    assert _ordered_neighbours(model, RISK_TIER, "high") == ["medium"]
    results = [{"id": f"p{i}", "nmpa": {"class": "CTMP"}, "tianjin": {"risk_tier": t}} for i, t in enumerate(["high", "low", "medium"])]
    assert list(plotting.crosstab(results, "nmpa.class", RISK_TIER, model).columns) == ["low", "medium", "high"]
    assert list(plotting.crosstab(results, "nmpa.class", RISK_TIER, load_model()).columns) == ["high", "medium", "low"]
    # the first group of the criteria plot is the first-ranked tier's (low names no criterion, so medium leads)
    assert [rc.code for rc, _ in model.criteria_by_tier() if rc] == ["low", "medium", "high"]
    assert plotting.criteria_columns(model)[:4] == [7, 8, 9, 10]


def _tier_order(tree: list[dict]) -> list[str]:
    """The tier codes in the order the taxonomy tree lists them (depth first)."""
    out: list[str] = []

    def walk(nodes: list[dict]) -> None:
        for n in nodes:
            if n["field"] == RISK_TIER:
                out.append(n["code"])
            walk(n["children"])

    walk(tree)
    return out


def test_swapped_ranks_reorder_the_taxonomy_classes_endpoint(ranks_swapped: Path) -> None:
    from atmp.analysis.taxonomy import classes

    assert _tier_order(classes(load_model(), "en")) == ["high", "medium", "low"]
    assert _tier_order(classes(load_model(ranks_swapped), "en")) == ["low", "medium", "high"]


def test_criterion_8_out_of_medium_reaches_the_what_if_ordering(criterion_8_out: Path) -> None:
    """A card medium by criterion 8 alone is low under the edit; what-if's neighbours follow the ontology's tiers."""
    from atmp.analysis.whatif import whatif

    cards = _catalogue()
    model = load_model(criterion_8_out)
    before = classify_cards(cards, model=load_model())
    after = classify_cards(cards, model=model)
    card = next(c for c, b, a in zip(cards, before, after, strict=True) if b["tianjin"]["risk_tier"] == "medium" and a["tianjin"]["risk_tier"] == "low")
    report = whatif(card, model=model, boundaries=["tier"], max_pairs=20)
    assert report["result"]["tianjin.risk_tier"] == "low"
    reached = {cf["to"] for cf in report["counterfactuals"] if cf["boundary"] == "tier"}
    assert "medium" in reached, "the neighbouring tier of low in the edited ontology is medium"


# -- the fixed words are data too ------------------------------------------------------------------------------------
def test_every_words_file_gives_each_entry_in_both_languages() -> None:
    """The report's headings, the tables' columns and how a reason reads live in rules/words/*.json: each loads, and each
    entry has an English and a Chinese text (the loader refuses a file that lacks one)."""
    from atmp.core.rules.resources import WORD_LANGUAGES, packaged, words

    names = sorted(p.stem for p in packaged("words").glob("*.json"))
    assert {"report", "explain", "table", "whatif", "similar", "schema-types"} <= set(names)
    for name in names:
        entries = words(name)
        assert entries and all(set(e) == set(WORD_LANGUAGES) and all(t.strip() for t in e.values()) for e in entries.values()), name


def test_a_words_file_missing_a_language_is_refused_by_name(tmp_path: Path) -> None:
    import pytest
    from atmp.core.rules.resources import WordsError, read_words

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"about": "x", "words": {"title": {"en": "Title", "zh": "标题"}, "moves": {"en": "Moves"}}}), encoding="utf-8")
    with pytest.raises(WordsError, match="'moves' must give one text for each of en, zh"):
        read_words(bad)


def test_an_edited_heading_reaches_the_report(tmp_path: Path) -> None:
    """A translator's edit of words/report.json changes the report, with no Python edited (ATMP_WORDS points at the
    edited copy, as ATMP_SHAPES does for the shapes)."""
    import os
    import shutil
    import subprocess
    import sys

    from atmp.core.rules.resources import packaged

    copy = tmp_path / "words"
    shutil.copytree(packaged("words"), copy)
    edited = json.loads((copy / "report.json").read_text(encoding="utf-8"))
    edited["words"]["conclusions"]["en"] = "2. What the rules conclude"
    (copy / "report.json").write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    card = tmp_path / "card.json"
    card.write_text(json.dumps(json.loads((ROOT / "tests" / "fixtures" / "examples" / "cards.json").read_text(encoding="utf-8"))[4]), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "atmp.cli", "report", str(card), "--format", "md", "--lang", "en", "-o", str(tmp_path / "out.md")],
        capture_output=True,
        text=True,
        env={**os.environ, "ATMP_WORDS": str(copy)},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "out.md").read_text(encoding="utf-8")
    assert "2. What the rules conclude" in text and "2. Conclusions" not in text


def test_a_missing_words_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """ATMP_WORDS pointing nowhere is bad input like any refused rule file: one line naming the file, exit 2."""
    import os
    import subprocess
    import sys

    card = tmp_path / "card.json"
    card.write_text(json.dumps(json.loads((ROOT / "tests" / "fixtures" / "examples" / "cards.json").read_text(encoding="utf-8"))[0]), encoding="utf-8")
    for command in (["classify", str(card), "--format", "table"], ["whatif", str(card), "--format", "table"]):
        run = subprocess.run([sys.executable, "-m", "atmp.cli", *command], capture_output=True, text=True, env={**os.environ, "ATMP_WORDS": str(tmp_path / "none")}, timeout=300)
        assert run.returncode == 2 and "Traceback" not in run.stderr and str(tmp_path / "none") in run.stderr, run.stderr
