"""Rule-change drills for ``atmp diff``: each edit's moved products are computed independently first.

The expected list comes from classifying the catalogue with the edited copy through ``core.classify`` and
comparing whole results (explanations and rule version aside) with the unedited rules; ``atmp diff`` must
then list exactly those products, say the rule change in words and exit 1 (0 when nothing moves).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from atmp.analysis.diff import Renderer, catalogue_cards
from atmp.core.classify import classify_cards
from atmp.core.rules.ontology import ATMP, load_model
from atmp.core.rules.resources import ontology_file
from rdflib import OWL, RDF, RDFS, Graph, Literal
from rdflib.collection import Collection

ROOT = Path(__file__).resolve().parents[1]


def _enumeration(g: Graph, cls) -> Collection:
    return Collection(g, g.value(g.value(cls, OWL.equivalentClass), OWL.oneOf))


def _remove(coll: Collection, item) -> None:
    kept = [i for i in coll if i != item]
    assert len(kept) == len(coll) - 1, f"{item} was not in the list"
    coll.clear()
    for i in kept:
        coll.append(i)


def _edited(tmp_path: Path, name: str, edit) -> Path:
    g = Graph().parse(ontology_file())
    edit(g)
    path = tmp_path / f"{name}.ttl"
    g.serialize(path, format="turtle")
    return path


def _culture_expansion_not_substantial(g: Graph) -> None:
    _remove(_enumeration(g, ATMP.SubstantialManipulation), ATMP.manip_culture_expansion)
    _enumeration(g, ATMP.NonSubstantialManipulation).append(ATMP.manip_culture_expansion)


def _criterion_8_out_of_medium(g: Graph) -> None:
    medium = g.value(ATMP.MediumRiskProduct, OWL.equivalentClass)
    union = next(n for n in Collection(g, g.value(medium, OWL.intersectionOf)) if (n, OWL.unionOf, None) in g)
    _remove(Collection(g, g.value(union, OWL.unionOf)), ATMP.Criterion08Met)


def _tissue_counts_as_ctmp_material(g: Graph) -> None:
    _enumeration(g, ATMP.CTMPCellKind).append(ATMP.kind_tissue)


def _new_code_in_grouping(g: Graph) -> None:
    new = ATMP.manip_perfusion
    g.add((new, RDF.type, OWL.NamedIndividual))
    g.add((new, RDF.type, ATMP.Manipulation))
    g.add((new, RDFS.label, Literal("perfusion", lang="en")))
    g.add((new, RDFS.label, Literal("灌注", lang="zh")))
    g.add((new, ATMP.code, Literal("perfusion")))
    _enumeration(g, ATMP.SubstantialManipulation).append(new)


def _rename_medium(g: Graph) -> None:
    g.remove((ATMP.MediumRiskProduct, RDFS.label, Literal("medium risk (Tianjin)", lang="en")))
    g.add((ATMP.MediumRiskProduct, RDFS.label, Literal("medium risk tier (Tianjin)", lang="en")))


def _expected_moves(edited: Path) -> list[str]:
    """Independent of atmp.analysis.diff: whole results compared, leaving out only words — explanations, the rule
    version, and the messages and sources of borderline entries and violations (their codes stay) — since a
    relabelled rule rewords messages that name it without moving any answer."""
    cards = catalogue_cards()

    def strip(r: dict) -> dict:
        out = {k: v for k, v in r.items() if k not in {"explanation", "rule_version", "borderline", "violations"}}
        out["borderline"] = [(b["code"], b.get("severity")) for b in r["borderline"]]
        out["violations"] = [(v["code"], v.get("severity")) for v in r["violations"]]
        return out

    before = classify_cards(cards, model=load_model(ontology_file()))
    after = classify_cards(cards, model=load_model(edited))
    return [b["id"] for b, a in zip(before, after, strict=True) if strip(b) != strip(a)]


def _diff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atmp.cli", "diff", *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


DRILLS = {
    "culture-expansion-not-substantial": (
        _culture_expansion_not_substantial,
        "grouping",
        "culture_expansion (培养扩增 / culture expansion) moved from SubstantialManipulation to NonSubstantialManipulation",
    ),
    "criterion-8-out-of-medium": (_criterion_8_out_of_medium, "definition", "medium risk (Tianjin)"),
    "tissue-counts-as-ctmp-material": (_tissue_counts_as_ctmp_material, "grouping", "tissue (组织、器官或类器官 / tissue, organ or organoid) added to CTMPCellKind"),
}


@pytest.mark.parametrize("name", sorted(DRILLS))
def test_drill_lists_exactly_the_products_that_move(tmp_path: Path, name: str) -> None:
    edit, kind, words = DRILLS[name]
    edited = _edited(tmp_path, name, edit)
    expected = _expected_moves(edited)
    assert expected, f"{name}: the drill should move some catalogue product"
    proc = _diff(str(ontology_file()), str(edited), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["moved"] == expected
    assert [c["kind"] for c in report["rule_changes"]] == [kind]
    assert words in report["rule_changes"][0]["text"]
    for product in report["products"]:
        for change in product["changes"]:
            assert change["decided_by"] or change["no_longer"], f"{product['id']} {change['field']}: no rule named"
            assert all(e["source"] for e in change["decided_by"] + change["no_longer"]), "every rule cited with its N/T source"


def test_criterion_8_drill_shows_the_definition_before_and_after(tmp_path: Path) -> None:
    edited = _edited(tmp_path, "c8", _criterion_8_out_of_medium)
    report = json.loads(_diff(str(ontology_file()), str(edited), "--format", "json").stdout)
    change = report["rule_changes"][0]
    assert change["term"] == "MediumRiskProduct" and change["axiom"] == "equivalentClass"
    label8 = load_model(ontology_file()).label(ATMP.Criterion08Met)["en"]
    assert label8 in change["before"][0] and label8 not in change["after"][0]
    assert change["delta"] == [f"- {label8}"], "the change itself, found by walking both definitions"
    moved = {p["id"]: {c["field"]: c for c in p["changes"]} for p in report["products"]}
    for tier in (p["tianjin.risk_tier"] for p in moved.values() if "tianjin.risk_tier" in p):
        assert tier["old"] == "medium" and tier["no_longer"][0]["rule"] == "MediumRiskProduct"


def test_a_new_code_in_a_grouping_is_listed_and_moves_nothing(tmp_path: Path) -> None:
    edited = _edited(tmp_path, "new-code", _new_code_in_grouping)
    assert _expected_moves(edited) == []
    proc = _diff(str(ontology_file()), str(edited), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    texts = [c["text"] for c in report["rule_changes"]]
    assert "perfusion (灌注 / perfusion) added to SubstantialManipulation" in texts
    assert any(c["kind"] == "added" and c["term"] == "manip_perfusion" for c in report["rule_changes"])


def test_renaming_a_label_lists_one_change_and_moves_nothing(tmp_path: Path) -> None:
    edited = _edited(tmp_path, "rename", _rename_medium)
    assert _expected_moves(edited) == []
    proc = _diff(str(ontology_file()), str(edited), "--format", "md")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(_diff(str(ontology_file()), str(edited), "--format", "json").stdout)
    assert len(report["rule_changes"]) == 1, report["rule_changes"]
    assert report["rule_changes"][0]["kind"] == "label" and report["rule_changes"][0]["after"] == "medium risk tier (Tianjin)"
    assert report["moved"] == []
    assert "Products that move" in proc.stdout and "None." in proc.stdout


def test_same_rules_nothing_changes() -> None:
    proc = _diff(str(ontology_file()), "git:HEAD", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rule_changes"] == [] and report["moved"] == [] and report["cards"] == len(catalogue_cards())


@pytest.mark.parametrize(
    ("old", "needle"),
    [
        ("git:no-such-revision-xyz", "git:no-such-revision-xyz: unknown git revision"),
        ("git:HEAD:no/such.ttl", "git:HEAD:no/such.ttl"),
        ("/no/such/file.ttl", "/no/such/file.ttl: no such file"),
        ("BROKEN", "not readable as Turtle"),
        ("catalogue/kg-vocabulary.ttl", "not an ATMP-KG ontology"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, old: str, needle: str) -> None:
    if old == "BROKEN":
        old = str(tmp_path / "broken.ttl")
        Path(old).write_text("@prefix atmp: <x> .\natmp:A a owl:Class ;;; <<", encoding="utf-8")
    proc = _diff(old, str(ontology_file()))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_bad_cards_exit_2(tmp_path: Path) -> None:
    cards = tmp_path / "cards.json"
    cards.write_text(json.dumps([{"id": "x", "substance": {"kind": "nonsense"}}]), encoding="utf-8")
    proc = _diff(str(ontology_file()), str(ontology_file()), "--cards", str(cards))
    assert proc.returncode == 2 and "invalid input" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_edit_source_loads_the_modules_it_imports(tmp_path: Path) -> None:
    """An edit source under ontology/src/ that owl:imports modules beside it is compared as the merged whole."""
    g = Graph().parse(ontology_file())
    ontology_iri = next(g.subjects(RDF.type, OWL.Ontology))
    module_iri = ATMP["modules/manipulations"]
    module, edit = Graph(), Graph()
    module.add((module_iri, RDF.type, OWL.Ontology))
    moved_out = {s for s in g.subjects(RDF.type, ATMP.Manipulation) if str(s).startswith(str(ATMP.manip_))}
    for t in g:
        (module if t[0] in moved_out else edit).add(t)
    edit.add((ontology_iri, OWL.imports, module_iri))
    src = tmp_path / "src"
    src.mkdir()
    edit_path, module_path = src / "atmp-edit.ttl", src / "manipulations.ttl"
    edit.serialize(edit_path, format="turtle")
    module.serialize(module_path, format="turtle")

    proc = _diff(str(ontology_file()), str(edit_path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["new"]["imported"] == [str(module_path)] and report["new"]["unresolved_imports"] == []
    # the merged whole equals the shipped rules but for the import and the module's own header
    assert sorted((c["kind"], c["term"]) for c in report["rule_changes"]) == [("added", "manipulations"), ("annotation", "ontology")]

    module_path.unlink()  # without the module the manipulation codes are unknown: bad input naming the missing import
    proc = _diff(str(ontology_file()), str(edit_path), "--format", "json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"imports not found beside it: {module_iri}" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_manchester_rendering_uses_labels() -> None:
    g = load_model(ontology_file()).graph
    r = Renderer(g)
    text = r.expr(g.value(ATMP.MediumRiskProduct, OWL.equivalentClass))
    assert text.startswith(r.name(ATMP.TianjinGradedProduct) + " and not ")
    assert " or " in text and "(" in text


@pytest.mark.parametrize("edit_source", ["ontology/src/atmp-edit.ttl", "git:HEAD:ontology/src/atmp-edit.ttl"])
def test_the_edit_source_resolves_its_imports_through_the_catalogue(edit_source: str) -> None:
    """The edit source imports the vocabulary component from ../components via catalog-v001.xml, as Protégé does;
    against the merged file it moves nothing, and the build's generated citations are not reported as rule changes."""
    proc = _diff(edit_source, str(ontology_file()), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["moved"] == []
    assert report["old"]["unresolved_imports"] == []
    assert any(p.endswith("components/vocabulary.ttl") for p in report["old"]["imported"])
    assert not [c for c in report["rule_changes"] if c.get("term", "").startswith("cite_")]
