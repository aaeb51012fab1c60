"""Ontology quality checks (``ontology/qc/*-violation.rq``, the OWL API's DL profile, HermiT satisfiability):
all empty on the ontology, and each one fires on a copy broken the way a hurried edit in Protégé would break it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from atmp.authoring.qc import QC_DIR, hermit_result_equivalence, hermit_satisfiability, owlapi_dl_profile, run_all, sparql_checks
from atmp.core.rules.ontology import ATMP, DCT, SKOS
from atmp.core.rules.resources import ontology_file
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection


@pytest.fixture(scope="module")
def source() -> Graph:
    return Graph().parse(ontology_file())


def test_every_check_passes_on_the_ontology():
    results = run_all(ontology_file())
    failing = {r.name: r.rows[:3] for r in results if not r.passed}
    assert failing == {}
    names = {r.name for r in results}
    assert {p.stem for p in QC_DIR.glob("*-violation.rq")} <= names
    assert {"owlapi-dl-profile-turtle", "owlapi-dl-profile-rdfxml", "hermit-unsatisfiable-class", "hermit-result-equivalence"} <= names


def test_every_check_documents_its_question():
    for r in sparql_checks(ontology_file()):
        assert r.question.endswith("?"), r.name


def _drop(s, p, lang=None) -> Callable[[Graph], None]:
    def edit(g: Graph) -> None:
        for o in list(g.objects(s, p)):
            if lang is None or getattr(o, "language", None) == lang:
                g.remove((s, p, o))

    return edit


def _add(*triples) -> Callable[[Graph], None]:
    def edit(g: Graph) -> None:
        for t in triples:
            g.add(t)

    return edit


def _drop_criterion_8(g: Graph) -> None:
    g.remove((ATMP.Criterion08Met, ATMP.criterionNumber, None))


def _drop_bacteriophage_from_microorganisms(g: Graph) -> None:
    """Edit a grouping as Protégé would: MicroorganismKind ≡ {…} without kind_bacteriophage."""
    (enumeration,) = [e for e in g.objects(ATMP.MicroorganismKind, OWL.equivalentClass) if (e, OWL.oneOf, None) in g]
    members = [m for m in Collection(g, g.value(enumeration, OWL.oneOf)) if m != ATMP.kind_bacteriophage]
    g.remove((enumeration, OWL.oneOf, None))
    head = BNode()
    Collection(g, head, members)
    g.add((enumeration, OWL.oneOf, head))


def _set_source(term, text: str) -> Callable[[Graph], None]:
    """Edit a dcterms:source literal by hand, as in Protégé, without rebuilding the structured citations."""

    def edit(g: Graph) -> None:
        g.remove((term, DCT.source, None))
        g.add((term, DCT.source, Literal(text)))

    return edit


OBO_REPLACED_BY = URIRef("http://purl.obolibrary.org/obo/IAO_0100001")
ORPHAN_TERM = ATMP.manip_levitation
ORPHAN_CLASS = ATMP.UnusedIdea

# check that must fire -> edit that breaks the ontology
BREAKS = {
    "missing-label-violation": _drop(ATMP.Criterion07Met, RDFS.label, "zh"),
    "duplicate-label-violation": _add((ATMP.Criterion07Met, RDFS.label, Literal("another English label", lang="en"))),
    "untagged-literal-violation": _add((ATMP.Criterion07Met, SKOS.editorialNote, Literal("a note without language"))),
    "missing-definition-violation": _drop(ATMP.ViralVectorType, SKOS.definition, "en"),
    "missing-source-violation": _drop(ATMP.HighRiskProduct, DCT.source),
    "missing-criterion-violation": _drop_criterion_8,
    "missing-result-code-violation": _drop(ATMP.GeneEditingGTMP, ATMP.resultCode),
    "missing-result-field-violation": _drop(ATMP.field_nmpa_subclass, RDFS.label, "zh"),
    "missing-version-violation": lambda g: g.remove((None, OWL.versionIRI, None)),
    "orphan-vocabulary-violation": _add((ORPHAN_TERM, RDF.type, OWL.NamedIndividual), (ORPHAN_TERM, ATMP.code, Literal("levitation"))),
    "orphan-class-violation": _add((ORPHAN_CLASS, RDF.type, OWL.Class)),
    "shape-list-drift-violation": _drop_bacteriophage_from_microorganisms,
    # two Manipulation codes that read the same to a curator
    "duplicate-vocabulary-label-violation": _add((ATMP.manip_washing, RDFS.label, Literal("Centrifugation", lang="en"))),
    "deprecated-without-replacement-violation": _add((ATMP.manip_washing, OWL.deprecated, Literal(True))),
    # an en dash instead of a hyphen
    "source-format-violation": _set_source(ATMP.PriorityGeneEditingApplied, "N 315\u2013317"),
    # a message that names a card field by its path instead of in words
    "field-path-in-text-violation": _add((ATMP.UsHomologousUseUnstated, SKOS.definition, Literal("The card does not state function.homologous_use.", lang="en"))),
}

# more ways to break the source format: each must fire on its own
SOURCE_BREAKS = {
    "literal edited, citations not rebuilt": _set_source(ATMP.PriorityGeneEditingApplied, "N 316-317"),
    "a piece added without a citation": _set_source(ATMP.PriorityGeneEditingApplied, "N 315-317; T 6(一)2"),
    "a citation dropped": _drop(ATMP.PriorityExVivoCTMPOverGTMPApplied, ATMP.citation),
    "a decision that does not exist": _set_source(ATMP.Criterion14Met, "T 6(三)14; Contract decision 9"),
    "unknown document": _set_source(ATMP.Criterion14Met, "X 6(三)14"),
    "lines contradict the locator": _add((ATMP["cite_N_315-317"], ATMP.firstLine, Literal(300))),
}


def _broken(source: Graph, edit: Callable[[Graph], None], tmp_path) -> object:
    g = Graph()
    for t in source:
        g.add(t)
    for prefix, ns in source.namespaces():
        g.bind(prefix, ns)
    edit(g)
    path = tmp_path / "broken.ttl"
    g.serialize(path, format="turtle", encoding="utf-8")
    return path


def test_the_edits_target_real_entities(source):
    for entity in (ATMP.Criterion07Met, ATMP.ViralVectorType, ATMP.HighRiskProduct, ATMP.Criterion08Met, ATMP.GeneEditingGTMP):
        assert (entity, RDF.type, OWL.Class) in source, entity
    assert (ORPHAN_TERM, None, None) not in source and (ORPHAN_CLASS, None, None) not in source


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_sparql_check_fires_on_a_broken_copy(source, tmp_path, check):
    results = {r.name: r for r in sparql_checks(_broken(source, BREAKS[check], tmp_path))}
    assert set(results) == {p.stem for p in QC_DIR.glob("*-violation.rq")}
    assert not results[check].passed, f"{check} did not notice the break"
    assert BREAKS.keys() >= set(results), "every check has a breaking edit"


@pytest.mark.parametrize("how", sorted(SOURCE_BREAKS))
def test_source_format_fires_on_each_kind_of_disagreement(source, tmp_path, how):
    (result,) = [r for r in sparql_checks(_broken(source, SOURCE_BREAKS[how], tmp_path)) if r.name == "source-format-violation"]
    assert not result.passed, how


def test_deprecation_with_a_replacement_passes(source, tmp_path):
    for replaced_by in (DCT.isReplacedBy, OBO_REPLACED_BY):
        edit = _add((ATMP.manip_washing, OWL.deprecated, Literal(True)), (ATMP.manip_washing, replaced_by, ATMP.manip_filtration))
        (result,) = [r for r in sparql_checks(_broken(source, edit, tmp_path)) if r.name == "deprecated-without-replacement-violation"]
        assert result.passed, result.rows


def test_owlapi_profile_fires_on_a_non_dl_copy(source, tmp_path):
    """An object property also typed as a data property (a Protégé user's slip) is outside OWL 2 DL."""
    path = _broken(source, _add((ATMP.hasManipulation, RDF.type, OWL.DatatypeProperty)), tmp_path)
    results = owlapi_dl_profile(path)
    assert results and all(not r.passed for r in results), [r.rows[:2] for r in results]


def test_owlapi_reports_a_file_it_cannot_parse(tmp_path):
    path = tmp_path / "garbage.ttl"
    path.write_text("@prefix : <http://x/> . :a :b ", encoding="utf-8")
    results = {r.name: r for r in owlapi_dl_profile(path)}
    assert not results["owlapi-dl-profile-turtle"].passed
    assert "parse error" in results["owlapi-dl-profile-turtle"].rows[0]["problem"]
    assert not results["owlapi-dl-profile-rdfxml"].passed


def test_hermit_check_fires_on_an_unsatisfiable_class(source, tmp_path):
    """High risk declared a kind of low risk: low risk excludes high risk, so high risk becomes empty."""
    path = _broken(source, _add((ATMP.HighRiskProduct, RDFS.subClassOf, ATMP.LowRiskProduct)), tmp_path)
    result = hermit_satisfiability(path)
    assert not result.passed
    assert any("HighRiskProduct" in str(row) for row in result.rows), result.rows


def test_hermit_result_equivalence_fires_when_two_result_classes_collapse(source, tmp_path):
    """Criteria 5 and 9 made subclasses of each other (a slip in Protégé): HermiT infers them equivalent."""
    a, b = ATMP.Criterion05Met, ATMP.Criterion09Met
    path = _broken(source, _add((a, RDFS.subClassOf, b), (b, RDFS.subClassOf, a)), tmp_path)
    result = hermit_result_equivalence(path)
    assert [(r["class"], r["equivalent"], r["how"]) for r in result.rows] == [(str(a), str(b), "inferred")]


def test_qc_command_exit_codes(source, tmp_path):
    cmd = [sys.executable, "-m", "atmp.cli"]
    ok = subprocess.run([*cmd, "qc", "--no-java", "--format", "json"], capture_output=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert all(c["passed"] for c in json.loads(ok.stdout))
    broken = _broken(source, BREAKS["missing-label-violation"], tmp_path)
    bad = subprocess.run([*cmd, "--ontology", str(broken), "qc", "--no-java"], capture_output=True, timeout=120)
    assert bad.returncode == 1
    assert b"FAIL  missing-label-violation" in bad.stdout and b"Criterion07Met" in bad.stdout
    missing = subprocess.run([*cmd, "--ontology", str(tmp_path / "nope.ttl"), "qc"], capture_output=True, timeout=120)
    assert missing.returncode == 2 and b"Traceback" not in missing.stderr
    (tmp_path / "garbage.ttl").write_text("not turtle {", encoding="utf-8")
    garbage = subprocess.run([*cmd, "--ontology", str(tmp_path / "garbage.ttl"), "qc", "--no-java"], capture_output=True, timeout=120)
    assert garbage.returncode == 2 and garbage.stderr.startswith(b"atmp:") and b"Traceback" not in garbage.stderr


def test_shape_list_drift_names_the_shape_side_too(tmp_path):
    """An edit of the shapes file (a microorganism dropped from one copied list) is reported against the ontology class."""
    from atmp.core.result.validate import shapes_file

    text = shapes_file().read_text(encoding="utf-8")
    marked = "atmp:mirrors atmp:MicroorganismKind ; sh:in ( atmp:kind_virus atmp:kind_bacterium atmp:kind_bacteriophage"
    assert marked in text
    edited = tmp_path / "product-shapes.ttl"
    edited.write_text(text.replace(marked, marked.replace(" atmp:kind_bacteriophage", ""), 1), encoding="utf-8")
    (drift,) = [r for r in sparql_checks(ontology_file(), shapes=edited) if r.name == "shape-list-drift-violation"]
    found = [(row["code"], row["class"].rsplit("/", 1)[-1], row["term"].rsplit("/", 1)[-1]) for row in drift.rows]
    assert found == [("oncolytic_needs_microorganism", "MicroorganismKind", "kind_bacteriophage")]


def _drop_complement(g: Graph, cls: URIRef, complemented: URIRef) -> None:
    """Take the conjunct ``not complemented`` out of ``cls``'s definition (at any depth), as an editor deleting it in Protégé would."""
    todo = list(g.objects(cls, OWL.equivalentClass))
    while todo:
        node = todo.pop()
        for head in list(g.objects(node, OWL.intersectionOf)) + list(g.objects(node, OWL.unionOf)):
            items = list(Collection(g, head))
            kept = [i for i in items if g.value(i, OWL.complementOf) != complemented]
            if len(kept) < len(items):
                predicate = OWL.intersectionOf if (node, OWL.intersectionOf, head) in g else OWL.unionOf
                g.remove((node, predicate, head))
                fresh = BNode()
                Collection(g, fresh, kept)
                g.add((node, predicate, fresh))
                return
            todo.extend(items)
    raise AssertionError(f"{cls} has no conjunct 'not {complemented}'")


def test_exclusive_fields_proves_the_ontology_and_names_an_overlap(source, tmp_path):
    """The US drug pathway without "and not an HCT/P" (issue 27's overlap) is found, with a card in both pathways."""
    from atmp.authoring.qc import exclusive_result_fields
    from atmp.core.card.facts import card_facts
    from atmp.core.card.schema import validate_card
    from atmp.core.classify import evaluator_for
    from atmp.core.rules.ontology import load_model

    assert exclusive_result_fields(ontology_file()).passed

    def drop_hctp_conjunct(g: Graph) -> None:
        _drop_complement(g, ATMP.UsNewDrugApplication, ATMP.UsHumanCellOrTissueProduct)

    path = _broken(source, drop_hctp_conjunct, tmp_path)
    result = exclusive_result_fields(path)
    pairs = {(r["field"], r["class"].rsplit("/", 1)[-1], r["other"].rsplit("/", 1)[-1]) for r in result.rows}
    assert ("us.pathway", "UsNewDrugApplication", "UsSection361HCTP") in {(f, *sorted((a, b))) for f, a, b in pairs}, pairs
    row = next(r for r in result.rows if "UsNewDrugApplication" in r["class"] + r["other"])
    card = validate_card(json.loads(row["card"]))  # the witness is a card the schema accepts
    model = load_model(path)
    ctx = evaluator_for(model).product_context(card_facts(model, card))
    assert ctx.member(ATMP.UsNewDrugApplication) and ctx.member(ATMP.UsSection361HCTP)


def test_exclusive_fields_finds_a_dropped_priority(source, tmp_path):
    """N's ex vivo CTMP without "and not a neoantigen product": a neoantigen cell product fits both subclasses."""
    from atmp.authoring.qc import exclusive_result_fields

    def drop_neoantigen_priority(g: Graph) -> None:
        _drop_complement(g, ATMP.ExVivoGeneticallyModifiedCTMP, ATMP.FitsNeoantigen)

    rows = exclusive_result_fields(_broken(source, drop_neoantigen_priority, tmp_path)).rows
    found = {tuple(sorted((r["class"].rsplit("/", 1)[-1], r["other"].rsplit("/", 1)[-1]))) for r in rows if r["field"] == "nmpa.subclass"}
    assert ("ExVivoGeneticallyModifiedCTMP", "NeoantigenBasedProduct") in found, rows
