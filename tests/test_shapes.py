"""SHACL shapes (shapes/product-shapes.ttl) through atmp.core.result.validate: each rule fires on a card that
breaks it, stays quiet on a near miss, and the 30 example cards all conform."""

from __future__ import annotations

import json

import pytest
from atmp.core.classify import memberships_for
from atmp.core.result.validate import SH, load_shapes, validate_cards
from atmp.core.rules.ontology import ATMP
from rdflib import DCTERMS, Literal

from tests import test_boundaries as boundaries
from tests import test_rules as rules
from tests.conftest import FIXTURES, make_card

NOT_APPLICABLE = {"cell_type": None, "origin": "not_applicable"}


def protein(**substance):
    return {"kind": "protein", **NOT_APPLICABLE, **substance}


# code -> (card that triggers it, card that does not)
VIOLATIONS = {
    "cells_need_cell_type": (
        make_card("v1", substance={"cell_type": None}),
        make_card("ok1", substance={"cell_type": "nk_cell"}),
    ),
    "cells_need_origin": (
        make_card("v2", substance={"origin": "not_applicable"}),
        make_card("ok2", substance={"origin": "allogeneic"}),
    ),
    "gene_editing_needs_tool": (
        make_card("v3", process={"manipulations": ["gene_editing", "culture_expansion"]}),
        make_card("ok3", substance={"gene_editing_tool": "crispr_cas"}, process={"manipulations": ["gene_editing", "culture_expansion"]}),
    ),
    "editing_tool_needs_gene_editing": (
        make_card("v4", substance={"gene_editing_tool": "talen"}),
        make_card("ok4", substance={"gene_editing_tool": "talen"}, process={"manipulations": ["gene_editing"]}),
    ),
    "genetic_modification_needs_material": (
        make_card("v5", process={"manipulations": ["genetic_modification", "culture_expansion"]}),
        make_card("ok5", substance={"vector": "lentivirus"}, process={"manipulations": ["genetic_modification", "culture_expansion"]}),
    ),
    "viral_vector_kind_needs_viral_vector": (
        make_card("v6", substance={"kind": "viral_vector", **NOT_APPLICABLE, "payload": "genetic_material", "vector": "plasmid"}),
        make_card("ok6", substance={"kind": "viral_vector", **NOT_APPLICABLE, "payload": "genetic_material", "nucleic_acid": "dna", "vector": "aav"}),
    ),
    "oncolytic_needs_microorganism": (
        make_card("v7", substance={"oncolytic": True}),
        make_card("ok7", substance={"kind": "virus", **NOT_APPLICABLE, "oncolytic": True, "replication_competent": True}, function={"mechanism": ["oncolysis"]}),
    ),
    "neoantigen_not_prophylactic": (
        make_card("v8", substance={"neoantigen": True}, function={"intended_use": "prophylactic_vaccine"}),
        make_card("ok8", substance={"neoantigen": True}, function={"intended_use": "therapeutic_vaccine"}),
    ),
    "no_genetic_manipulation_of_chemicals": (
        make_card("v9", substance=protein(), process={"manipulations": ["gene_editing", "filtration"]}),
        make_card("ok9", substance=protein(), process={"manipulations": ["filtration", "filling"]}),
    ),
    "mechanical_with_living_mechanism": (
        make_card("v10", substance=protein(), function={"mechanism": ["mechanical", "regeneration_or_repair"]}),
        make_card("ok10", substance={"kind": "tissue", "cell_type": "other"}, function={"mechanism": ["mechanical", "regeneration_or_repair"]}),
    ),
    "genetic_payload_needs_nucleic_acid": (
        make_card("v11", substance={"payload": "genetic_material", "vector": "lentivirus"}, process={"manipulations": ["genetic_modification"]}),
        make_card("ok11", substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"}, process={"manipulations": ["genetic_modification"]}),
    ),
    "nucleic_acid_needs_genetic_payload": (
        make_card("v12", substance={"kind": "viral_vector", **NOT_APPLICABLE, "nucleic_acid": "dna", "vector": "aav", "payload": "protein"}),
        make_card("ok12", substance={"kind": "viral_vector", **NOT_APPLICABLE, "nucleic_acid": "dna", "vector": "aav", "payload": "genetic_material"}),
    ),
    "nucleic_acid_kind_needs_nucleic_acid": (
        make_card("v13", substance={"kind": "nucleic_acid", **NOT_APPLICABLE, "vector": "lipid_nanoparticle"}),
        make_card("ok13", substance={"kind": "nucleic_acid", **NOT_APPLICABLE, "payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle"}),
    ),
    "pluripotent_derived_needs_cells": (
        make_card("v14", substance={**protein(), "pluripotent_derived": True}),
        make_card("ok14", substance={"kind": "extracellular_vesicles", "cell_type": None, "origin": "allogeneic", "pluripotent_derived": True}),
    ),
    "replication_competence_needs_microorganism": (
        make_card(
            "v15", substance={"kind": "viral_vector", **NOT_APPLICABLE, "payload": "genetic_material", "nucleic_acid": "dna", "vector": "aav", "replication_competent": True}
        ),
        make_card("ok15", substance={"kind": "virus", **NOT_APPLICABLE, "replication_competent": True}),
    ),
    "engineered_or_novel_needs_microorganism": (
        make_card("v16", substance={"genetically_engineered": True}),
        make_card("ok16", substance={"kind": "bacterium", **NOT_APPLICABLE, "genetically_engineered": True, "novel_species": True}),
    ),
}

WARNINGS = {
    "pluripotent_without_tumorigenic_risk": (
        make_card("w1", substance={"pluripotent_derived": True}, function={"tumorigenic_risk": False}),
        make_card("okw1", substance={"pluripotent_derived": True}, function={"tumorigenic_risk": True}),
    ),
    "cells_as_carrier": (
        make_card("w2", substance={"payload": "small_molecule"}, process={"manipulations": ["loading", "washing"]}),
        make_card("okw2", substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"}, process={"manipulations": ["genetic_modification"]}),
    ),
    "homologous_use_not_stated": (
        make_card("w3", function={"homologous_use": ...}),
        make_card("okw3", function={"homologous_use": False}),
    ),
    "systemic_effect_not_stated": (
        make_card("w4", function={"systemic_effect": ...}),
        make_card("okw4", function={"systemic_effect": False}),
    ),
}

# Near misses that must not fire the named rule (boundaries of the rule, not just its absence).
NEAR_MISSES = [
    ("gene_editing_needs_tool", make_card("n1", substance={"kind": "nucleic_acid", **NOT_APPLICABLE, "payload": "genetic_material"}, process={"manipulations": ["gene_editing"]})),
    ("genetic_modification_needs_material", make_card("n2", substance={"payload": "genetic_material"}, process={"manipulations": ["genetic_modification"]})),
    ("mechanical_with_living_mechanism", make_card("n3", substance=protein(), function={"mechanism": ["mechanical", "pharmacological"]})),
    ("oncolytic_needs_microorganism", make_card("n4", substance={"kind": "bacterium", **NOT_APPLICABLE, "oncolytic": True})),
    ("pluripotent_without_tumorigenic_risk", make_card("n5", substance={"pluripotent_derived": True}, function={"tumorigenic_risk": ...})),
    (
        "engineered_or_novel_needs_microorganism",
        make_card(
            "n6", substance={"kind": "viral_vector", **NOT_APPLICABLE, "payload": "genetic_material", "nucleic_acid": "dna", "vector": "aav", "genetically_engineered": True}
        ),
    ),
    ("nucleic_acid_needs_genetic_payload", make_card("n7", substance={"kind": "virus", **NOT_APPLICABLE, "oncolytic": True, "replication_competent": True})),
]


@pytest.fixture(scope="module")
def results(model):
    """All test cards in one batch, as the service does; keyed by card id."""
    cards = [c for pair in (*VIOLATIONS.values(), *WARNINGS.values()) for c in pair] + [c for _, c in NEAR_MISSES]
    out = validate_cards(model, cards)
    assert [r["id"] for r in out] == [c["id"] for c in cards]
    return {r["id"]: r for r in out}


def codes(result: dict, kind: str) -> set[str]:
    return {e["code"] for e in result[kind]}


@pytest.mark.parametrize("code", sorted(VIOLATIONS))
def test_violation_fires_and_near_miss_passes(results, code):
    bad, good = VIOLATIONS[code]
    hit = results[bad["id"]]
    assert code in codes(hit, "violations"), hit
    assert hit["conforms"] is False
    entry = next(e for e in hit["violations"] if e["code"] == code)
    assert entry["severity"] == "Violation"
    assert entry["message"]["en"] and entry["message"]["zh"] and entry["source"]
    assert entry["path"].split(".")[0] in {"substance", "process", "function"}
    ok = results[good["id"]]
    assert ok["violations"] == [] and ok["conforms"] is True, ok


@pytest.mark.parametrize("code", sorted(WARNINGS))
def test_warning_fires_and_near_miss_passes(results, code):
    bad, good = WARNINGS[code]
    hit = results[bad["id"]]
    assert code in codes(hit, "warnings"), hit
    assert hit["conforms"] is True and hit["violations"] == [], "a warning must not break conformance"
    entry = next(e for e in hit["warnings"] if e["code"] == code)
    assert entry["severity"] == "warning"
    assert entry["message"]["en"] and entry["message"]["zh"] and entry["source"]
    ok = results[good["id"]]
    assert ok["warnings"] == [] and ok["violations"] == [], ok


@pytest.mark.parametrize(("code", "card"), NEAR_MISSES, ids=[c["id"] for _, c in NEAR_MISSES])
def test_rule_boundaries(results, code, card):
    result = results[card["id"]]
    assert code not in codes(result, "violations") | codes(result, "warnings"), result


def test_every_shape_is_annotated_and_tested():
    """Each shape names its severity, a bilingual message, a source and a code; every code has a test."""
    shapes = load_shapes()
    seen = set()
    for shape in set(shapes.subjects(SH.severity, None)):
        code = str(shapes.value(shape, ATMP.resultCode))
        if shape == ATMP.shape_borderline_situation:  # one shape for all reasoned situations: tested below, per class
            continue
        seen.add(code)
        assert str(shape).startswith(str(ATMP["shape_"])), shape
        assert shapes.value(shape, SH.targetClass) == ATMP.Product
        langs = {o.language for o in shapes.objects(shape, SH.message) if isinstance(o, Literal)}
        assert {"en", "zh"} <= langs, shape
        assert shapes.value(shape, DCTERMS.source) is not None, shape
        expected = VIOLATIONS if shapes.value(shape, SH.severity) == SH.Violation else WARNINGS
        assert code in expected, f"{code} has no trigger/near-miss test or the wrong severity"
    assert seen == set(VIOLATIONS) | set(WARNINGS)


def test_messages_name_fields_and_codes_in_words(model):
    """A shape's message is what a reviewer reads beside a field: it names fields and values in words, never a card
    field's path (``substance.cell_type``) or a card code quoted as a program writes it (``'gene_editing'``). The
    ontology's texts are held to the same by QC (``field-path-in-text-violation``)."""
    import re

    paths = {p.field for p in model.properties}
    codes = {c for p in model.properties for c in p.codes if "_" in c}
    shapes = load_shapes()
    bad = []
    for shape, message in shapes.subject_objects(SH.message):
        text = str(message)
        bad += [(str(shape), path) for path in paths if path in text]
        bad += [(str(shape), code) for code in codes if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)]
    assert not bad, bad


def test_examples_conform(model):
    cards = json.loads((FIXTURES / "examples" / "cards.json").read_text(encoding="utf-8"))
    assert len(cards) == 30
    results = validate_cards(model, cards)
    bad = {r["id"]: r["violations"] for r in results if not r["conforms"]}
    assert bad == {}
    assert all(r["warnings"] == [] for r in results), [r for r in results if r["warnings"]]


# ============================================================================================= reasoned borderline situations
# Each borderline situation is an OWL class; the shape `shape_borderline_situation` reports the
# reasoner's memberships. code -> (card that lands in the class, near miss that does not).

R = rules
REASONED = {
    "encapsulation_two_meanings": (R.ENCAPSULATED_ISLETS, R.T_CELLS),
    "epigenetic_editor_not_gene_editing": (R.EPIGENETIC_LNP, R.EDITING_LNP),
    "minimal_manipulation_is_for_cells": (R.LOCAL_PLASMID, R.AAV),
    "nucleic_acid_acting_outside_cells": (R.APTAMER, R.SIRNA),
    "excluded_by_n_graded_by_t": (R.BONE_MARROW, R.BONE_MARROW_DIGESTED),
    "genetically_modified_tissue_is_tissue_engineered": (boundaries.LENTIVIRAL_TISSUE, boundaries.CARTILAGE),
    "minimal_non_homologous_stays_atmp": (R.MINIMAL_NON_HOMOLOGOUS_SVF, R.WASHED_LYMPHOCYTES),
    "no_atmp_class_met": (R.product("plain-bacterium", "bacterium"), R.PROTEIN),
    "priority_ctmp_over_tissue_engineered": (R.LIMBAL_ON_SCAFFOLD, R.T_CELLS),
    "priority_emerging_microorganism": (R.ENGINEERED_BACTERIUM, R.ONCOLYTIC_ENGINEERED),
    "priority_ex_vivo_ctmp_over_gtmp": (R.CAR_T, R.T_CELLS),
    "priority_gene_editing": (R.EDITING_LNP, R.MRNA_LNP),
    "priority_genetic_material_is_gtmp": (R.VESICLES_WITH_RNA, R.VESICLES),
    "priority_neoantigen": (R.NEOANTIGEN_MRNA, R.MRNA_LNP),
    "priority_novel_delivery_over_cell_derivative": (R.VESICLES_WITH_PROTEIN, R.VESICLES),
    "priority_novel_delivery_over_ctmp": (R.RBC_CARRIER, R.RED_CELLS_FOR_TRANSFUSION),
    "priority_oncolytic": (R.ONCOLYTIC_TRANSGENE, R.AAV),
    "synthetic_oligonucleotide_criterion_3": (R.SIRNA, R.MRNA_LNP),
    "tier_conflict_low_criterion": (R.AUTOLOGOUS_LOCAL, R.ALLOGENEIC_LOCAL),
    "unmodified_oncolytic_in_gtmp": (R.WILD_TYPE_ONCOLYTIC, R.ONCOLYTIC_TRANSGENE),
    "xenogeneic_outside_tianjin": (R.XENOGENEIC_ISLETS, R.ALLOGENEIC_ISLETS),
}


@pytest.fixture(scope="module")
def reasoned(model):
    """The reasoned cards through `validate_cards`, with memberships from the warm HermiT reference."""
    cards = list({c["id"]: c for pair in REASONED.values() for c in pair}.values())
    memberships = memberships_for(cards, engine="hermit", model=model)
    assert memberships == memberships_for(cards, engine="compiled", model=model)
    return {r["id"]: r for r in validate_cards(model, cards, memberships)}


def test_every_borderline_class_has_a_reasoned_warning_test(model):
    assert set(REASONED) == {rc.code for rc in model.result_classes if rc.field == "borderline"}


@pytest.mark.parametrize("code", sorted(REASONED))
def test_reasoned_warning_fires_and_near_miss_passes(model, reasoned, code):
    bad, good = REASONED[code]
    hit = reasoned[bad["id"]]
    assert code in codes(hit, "warnings"), hit
    entry = next(e for e in hit["warnings"] if e["code"] == code)
    situation = next(rc for rc in model.result_classes if rc.code == code)
    # message and source are the OWL class's own: the rule is written once, in the ontology (the message may go on
    # naming, by label, which of the class's atmp:reportsApplied alternatives held)
    assert all(entry["message"][lang].startswith(situation.definition[lang]) for lang in ("en", "zh")) and entry["message"]["zh"] and entry["message"]["en"]
    assert entry["source"] == situation.source and entry["source"]
    assert entry["severity"] == "warning"
    assert code not in codes(reasoned[good["id"]], "warnings")


def test_without_reasoning_no_reasoned_warning(model):
    """Only data-level shapes run when no memberships are given (e.g. a quick schema-level check)."""
    bad, _ = REASONED["priority_ex_vivo_ctmp_over_gtmp"]
    assert validate_cards(model, [bad])[0]["warnings"] == []


def test_classify_and_validate_report_the_same_borderline(classify, model):
    """The result's borderline list is exactly the validation report's warnings: no entry twice, none missing."""
    for bad, _ in REASONED.values():
        result = classify(bad, engine="compiled")
        report = validate_cards(model, [bad], memberships_for([bad], engine="compiled", model=model))[0]
        assert sorted(b["code"] for b in result["borderline"]) == sorted(w["code"] for w in report["warnings"])
