"""The editors' tool chain: normaliser, template compiler, merge build, citations as data, decisions.

These guard the promise of ontology/README-editors.md: one hand-edited source in a stable layout, a
generated merged file that is current, and citations a query can use. HermiT is not needed here; the
owlready2 test reads the RDF/XML form only (what HermiT is given).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from atmp.authoring import citations, templates
from atmp.authoring.build import MERGED, Layout, check, render_merged
from atmp.authoring.normalize import render_edit
from atmp.core.rules.namespaces import ATMP, DCT, SKOS
from rdflib import OWL, RDF, Graph, Literal

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = PROJECT_ROOT / "ontology"


@pytest.fixture(scope="module")
def merged() -> Graph:
    return Graph().parse(MERGED, format="turtle")


@pytest.fixture()
def copy(tmp_path) -> Layout:
    """A private copy of the ontology folder, for edits."""
    root = tmp_path / "ontology"
    for sub in ("src", "templates", "components"):
        shutil.copytree(ONTOLOGY / sub, root / sub)
    shutil.copy(MERGED, root / "atmp.ttl")
    return Layout(root)


def test_committed_files_are_current():
    assert check() == []


def test_normaliser_is_idempotent_and_ignores_triple_order():
    text = Layout().edit.read_text(encoding="utf-8")
    graph = Graph().parse(data=text, format="turtle")
    once = render_edit(graph)
    assert once == text
    assert render_edit(Graph().parse(data=once, format="turtle")) == once
    triples = list(graph)
    random.Random(7).shuffle(triples)
    shuffled = Graph()
    for t in triples:
        shuffled.add(t)
    # rdflib's own (reference-count ordered, random blank-node labels) output as a Protégé-like save
    assert render_edit(Graph().parse(data=shuffled.serialize(format="turtle"), format="turtle")) == text


def test_edit_source_has_the_sections_in_document_order():
    text = Layout().edit.read_text(encoding="utf-8")
    headings = [line[2:] for line in text.splitlines() if line.startswith("# ") and not line.startswith("# `") and line[2:3].isupper()]
    order = ["Ontology header", "N scope", "N classes", "T scope", "T criteria", "Borderline", "Contract decisions"]
    positions = [next(i for i, h in enumerate(headings) if h.startswith(o)) for o in order]
    assert positions == sorted(positions), headings
    # inside "T criteria and tiers", criterion 2 comes before criterion 12 (article/item order, not IRI order)
    assert text.index("atmp:Criterion02Met a owl:Class") < text.index("atmp:Criterion12Met a owl:Class")


def test_template_compiler_reproduces_the_component():
    layout = Layout()
    rows = templates.read_rows(layout.vocabulary_tsv)
    assert templates.render_component(rows) == layout.vocabulary_component.read_text(encoding="utf-8")
    assert templates.render_rows(rows) == layout.vocabulary_tsv.read_text(encoding="utf-8")
    assert len(rows) == len({r.iri for r in rows}) > 100


def test_merged_file_is_generated_from_the_sources():
    text = MERGED.read_text(encoding="utf-8")
    assert text.startswith("# GENERATED — do not edit; edit ontology/src/atmp-edit.ttl or ontology/templates/*.tsv")
    assert render_merged(Layout()) == text
    assert "\nowl:imports" not in text and "    owl:imports" not in text


def test_adding_a_row_and_a_module_reaches_the_merged_file(copy: Layout):
    """A new code in the table and a new regime module in src/ (imported through the catalogue) are merged."""
    with copy.vocabulary_tsv.open("a", encoding="utf-8") as f:
        f.write("atmp:manip_levitation\tatmp:Manipulation\tlevitation\tlevitation\t悬浮\tA test code.\t测试代码。\tN 301-304\t\n")
    module_iri = "https://w3id.org/atmp-kg/ontology/modules/uk.ttl"  # eu/us/jp are real modules already
    (copy.root / "src" / "uk.ttl").write_text(
        f"@prefix owl: <http://www.w3.org/2002/07/owl#> .\n<{module_iri}> a owl:Ontology .\n<https://w3id.org/atmp-kg/ontology/EuIdea> a owl:Class .\n",
        encoding="utf-8",
    )
    problems = check(copy)
    assert any("uk.ttl is in ontology/src but no owl:imports reaches it" in p for p in problems)
    edit = copy.edit.read_text(encoding="utf-8").replace(
        "<https://w3id.org/atmp-kg/ontology/components/vocabulary.ttl>",
        f"<https://w3id.org/atmp-kg/ontology/components/vocabulary.ttl>, <{module_iri}>",
        1,
    )
    copy.edit.write_text(edit, encoding="utf-8")
    catalog = copy.catalog.read_text(encoding="utf-8").replace("</group>", f'    <uri name="{module_iri}" uri="uk.ttl"/>\n    </group>')
    copy.catalog.write_text(catalog, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "atmp.authoring", "--root", str(copy.root), "normalize"], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert subprocess.run([sys.executable, "-m", "atmp.authoring", "--root", str(copy.root), "check"], capture_output=True, timeout=120).returncode == 1
    run = subprocess.run([sys.executable, "-m", "atmp.authoring", "--root", str(copy.root), "build"], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert check(copy) == []
    g = Graph().parse(copy.merged, format="turtle")
    assert (ATMP.manip_levitation, ATMP.code, Literal("levitation")) in g
    assert (ATMP.EuIdea, RDF.type, OWL.Class) in g
    assert (None, RDF.type, OWL.Ontology) in g and len(set(g.subjects(RDF.type, OWL.Ontology))) == 1


def test_an_import_the_catalogue_does_not_know_fails_the_build(copy: Layout):
    edit = copy.edit.read_text(encoding="utf-8").replace("components/vocabulary.ttl>", "components/nowhere.ttl>")
    copy.edit.write_text(edit, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "atmp.authoring", "--root", str(copy.root), "build"], capture_output=True, timeout=120)
    assert run.returncode == 2 and b"no entry in catalog-v001.xml" in run.stderr


def test_rdflib_and_rdfxml_round_trip(merged, tmp_path):
    """What Protégé and owlready2/HermiT read: the merged Turtle, and its RDF/XML form through owlready2."""
    import owlready2

    path = tmp_path / "atmp.owl"
    merged.serialize(path, format="xml", encoding="utf-8")
    back = Graph().parse(path, format="xml")
    assert len(back) == len(merged)
    onto = owlready2.World().get_ontology(path.as_uri()).load()
    assert onto.search_one(iri=str(ATMP.Criterion07Met)) is not None
    assert onto.search_one(iri=str(ATMP.decision_1)) is not None


def test_release_header(merged):
    ont = next(merged.subjects(RDF.type, OWL.Ontology))
    version = str(merged.value(ont, OWL.versionInfo))
    assert str(merged.value(ont, OWL.versionIRI)) == f"https://w3id.org/atmp-kg/ontology/releases/{version}/atmp.ttl"
    assert str(merged.value(ont, DCT.license)) == "https://creativecommons.org/licenses/by/4.0/"
    assert f"## {version}" in (ONTOLOGY / "CHANGELOG.md").read_text(encoding="utf-8")


def test_every_class_and_term_with_a_source_has_structured_citations(merged):
    for cls in merged.subjects(RDF.type, OWL.Class):
        if str(cls).startswith(str(ATMP)):
            assert (cls, ATMP.citation, None) in merged, cls
    for term, literal in merged.subject_objects(DCT.source):
        expected = {c.iri for c in citations.parse(str(literal))}
        assert set(merged.objects(term, ATMP.citation)) == expected, term


def test_a_query_finds_every_rule_citing_n_263_271(merged):
    rows = merged.query(
        """
        PREFIX atmp: <https://w3id.org/atmp-kg/ontology/>
        SELECT DISTINCT ?rule WHERE {
          ?rule atmp:citation ?c .
          ?c atmp:citedDocument atmp:document_N ; atmp:firstLine ?first ; atmp:lastLine ?last .
          FILTER(?first <= 271 && ?last >= 263)
        }"""
    )
    found = {r.rule for r in rows}
    literal = {t for t, s in merged.subject_objects(DCT.source) if any(c.lines and c.lines[0] <= 271 and c.lines[1] >= 263 for c in citations.parse(str(s)))}
    assert found == literal
    assert {ATMP.PriorityExVivoCTMPOverGTMPApplied, ATMP.FitsExVivoGeneticallyModifiedCTMP} <= found


def test_citation_grammar():
    (n1, n2, t, d3, d4) = citations.parse("N 85-89, 263-271; T 6(三)11-13; Contract decisions 3, 4")
    assert (n1.lines, n2.lines, n2.text) == ((85, 89), (263, 271), "N 263-271")
    assert (t.article, t.paragraph, t.items, t.locator) == (6, 3, (11, 13), "6(三)11-13")
    assert (d3.decisions, d4.text) == ((3,), "Contract decision 4")
    (rng,) = citations.parse("Contract decisions 3-4")
    assert rng.decisions == (3, 4)
    for bad in ("N 263–271", "T 6(x)2", "Contract decision", "N 271-263", "Contract decisions 4-3", "see N 12", " N 12"):
        with pytest.raises(citations.CitationError):
            citations.parse(bad)


def test_decisions_are_individuals_with_both_texts(merged):
    decisions = sorted(merged.subjects(RDF.type, ATMP.ContractDecision), key=str)
    assert [int(merged.value(d, ATMP.decisionNumber)) for d in decisions] == [1, 2, 3, 4, 5, 6]
    contract = Path("/work/shared/contract/PRODUCT-CARD.md")
    for d in decisions:
        texts = {o.language: str(o) for o in merged.objects(d, SKOS.definition)}
        assert set(texts) == {"en", "zh"} and all(len(t) > 80 for t in texts.values()), d
        if contract.is_file():  # the English text is the contract's own
            assert texts["en"].split(". ", 1)[1][:60].replace("`", "") in contract.read_text(encoding="utf-8").replace("`", "").replace("\n   ", " ")
    # every "Contract decision n" cited by a rule resolves to one of them
    cited = set(merged.objects(None, ATMP.decision))
    assert cited and cited <= set(decisions)
