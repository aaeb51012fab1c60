"""The EU, US and Japanese rules beside N and T (ontology/src/{eu,us,jp,crosswalk}.ttl), one rule per test.

Every card here goes through the ``classify`` fixture: the warm HermiT answers and the compiled engine
must give the same whole result, so each focused test is also an equivalence test on the new classes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from atmp.core.classify import classify_cards
from atmp.core.rules.ontology import ATMP
from atmp.core.rules.regimes import RegimeError, parse_selection
from rdflib import OWL
from rdflib.collection import Collection

from .conftest import ROOT, make_card

# ----------------------------------------------------------------------------- helpers


def bl(result: dict, block: str) -> set[str]:
    return {b["code"] for b in result[block]["borderline"]}


def xw(result: dict) -> set[str]:
    return {c["code"] for c in result["crosswalk"]}


def tissue_graft(card_id: str = "amnion", **sections) -> dict:
    """Allogeneic structural tissue, cut and sterilised, homologous, local, not metabolically active: a 361 HCT/P."""
    base = {
        "substance": {"kind": "tissue", "cell_type": "other", "origin": "allogeneic"},
        "process": {"manipulations": ["cutting", "sterilization", "freezing"], "combined_with": []},
        "function": {"mechanism": ["regeneration_or_repair"], "homologous_use": True, "systemic_effect": False, "depends_on_living_cell_metabolism": False},
    }
    for section, fields in sections.items():
        base.setdefault(section, {}).update(fields)
    return make_card(card_id, **base)


def car_t(card_id: str = "car-t", **sections) -> dict:
    base = {
        "substance": {"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"},
        "process": {"manipulations": ["sorting_or_purification", "activation", "genetic_modification", "culture_expansion", "washing"]},
        "function": {"homologous_use": False},
    }
    for section, fields in sections.items():
        base.setdefault(section, {}).update(fields)
    return make_card(card_id, **base)


# ----------------------------------------------------------------------------- US: 21 CFR 1271


def test_361_hct_p_meets_all_four_criteria(classify):
    r = classify(tissue_graft())
    assert r["us"]["pathway"] == "361_hct_p"
    assert r["us"]["gene_therapy"] is False
    assert any(e["rule"] == "UsSection361HCTP" and "1271.10(a)" in e["source"] for e in r["us"]["explanation"])


def test_1271_10_a1_more_than_minimal_manipulation_of_structural_tissue(classify):
    # structural tissue (default for kind tissue): enzymatic digestion alters its original characteristics
    assert classify(tissue_graft("a1", process={"manipulations": ["cutting", "enzymatic_digestion"]}))["us"]["pathway"] == "351_bla"
    # the same step on cells or nonstructural tissue is minimal, but flagged
    r = classify(tissue_graft("a1-cells", substance={"structural_tissue": False}, process={"manipulations": ["cutting", "enzymatic_digestion"]}))
    assert r["us"]["pathway"] == "361_hct_p" and "us_sorting_minimal_unclear" in bl(r, "us")
    # culture alters either
    assert classify(tissue_graft("a1-culture", substance={"structural_tissue": False}, process={"manipulations": ["culture_expansion"]}))["us"]["pathway"] == "351_bla"


def test_1271_10_a2_homologous_use(classify):
    assert classify(tissue_graft("a2", function={"homologous_use": False}))["us"]["pathway"] == "351_bla"
    silent = tissue_graft("a2-silent")
    silent["function"].pop("homologous_use")
    r = classify(silent)
    assert r["us"]["pathway"] == "351_bla" and "us_homologous_use_unstated" in bl(r, "us")


def test_1271_10_a3_combination_with_another_article(classify):
    assert classify(tissue_graft("a3", process={"combined_with": ["scaffold_or_matrix"]}))["us"]["pathway"] == "351_bla"
    assert classify(tissue_graft("a3-capsule", process={"manipulations": ["cutting", "encapsulation"]}))["us"]["pathway"] == "351_bla"


def test_1271_10_a4_systemic_effect_needs_autologous_or_relative_donor(classify):
    systemic = {"systemic_effect": True, "depends_on_living_cell_metabolism": True}
    r = classify(tissue_graft("a4", function=systemic))
    assert r["us"]["pathway"] == "351_bla" and "us_donor_relation_unstated" in bl(r, "us")
    assert classify(tissue_graft("a4-rel", substance={"donor_relation": "first_or_second_degree_relative"}, function=systemic))["us"]["pathway"] == "361_hct_p"
    assert classify(tissue_graft("a4-unrel", substance={"donor_relation": "unrelated"}, function=systemic))["us"]["pathway"] == "351_bla"
    assert classify(tissue_graft("a4-auto", substance={"origin": "autologous"}, function=systemic))["us"]["pathway"] == "361_hct_p"


def test_1271_15_b_same_surgical_procedure(classify):
    fat = tissue_graft("ssp", substance={"origin": "autologous"}, process={"manipulations": ["cutting", "washing", "centrifugation"]})
    r = classify(fat)
    assert r["us"]["pathway"] == "361_hct_p" and "us_same_surgical_procedure_unstated" in bl(r, "us")
    fat["process"]["same_surgical_procedure"] = True
    assert classify(fat)["us"]["pathway"] == "exempt_1271_15"
    fat["process"]["manipulations"] = ["cutting", "culture_expansion"]
    assert classify(fat)["us"]["pathway"] == "351_bla"  # "such HCT/P" no longer


def test_us_drug_biologic_gene_therapy_and_blood(classify):
    sirna = make_card(
        "sirna",
        substance={"kind": "nucleic_acid", "cell_type": None, "origin": "not_applicable", "payload": "genetic_material", "nucleic_acid": "sirna", "vector": "lipid_nanoparticle"},
        process={"manipulations": ["chemical_synthesis", "filtration"]},
        function={"mechanism": ["gene_regulation"], "homologous_use": False},
    )
    r = classify(sirna)
    assert (r["us"]["pathway"], r["us"]["gene_therapy"]) == ("nda", False)
    aav = make_card(
        "aav",
        substance={"kind": "viral_vector", "cell_type": None, "origin": "not_applicable", "payload": "genetic_material", "nucleic_acid": "dna", "vector": "aav"},
        process={"manipulations": ["genetic_modification", "filtration"]},
        function={"mechanism": ["gene_regulation"], "homologous_use": False},
    )
    r = classify(aav)
    assert (r["us"]["pathway"], r["us"]["gene_therapy"], r["us"]["licensed_cell_or_gene_therapy"]) == ("351_bla", True, True)
    car = classify(car_t())
    assert (car["us"]["pathway"], car["us"]["gene_therapy"]) == ("351_bla", True)
    blood = make_card(
        "rbc",
        substance={"kind": "blood_component", "cell_type": None, "origin": "allogeneic"},
        process={"manipulations": ["centrifugation", "filtration"]},
        function={"intended_use": "transfusion", "mechanism": ["cell_replacement"], "homologous_use": True},
    )
    assert classify(blood)["us"]["pathway"] == "not_hct_p"
    xeno = make_card("xeno", substance={"origin": "xenogeneic", "cell_type": "islet_cell"}, function={"mechanism": ["metabolic"]})
    assert classify(xeno)["us"]["pathway"] == "351_bla"  # animal cells are not HCT/Ps (1271.3(d)(6))


def test_us_pathway_is_one_code_for_gene_edited_blood(classify):
    """A blood component that is also a gene therapy (a what-if variant of exa-cel) has one pathway: 351 BLA.

    not_hct_p applies only when no other pathway does; before, both held and assembling raised a RuleConflict.
    """
    edited = make_card(
        "edited-rbc",
        substance={"kind": "blood_component", "cell_type": None, "origin": "autologous", "gene_editing_tool": "crispr_cas"},
        process={"manipulations": ["gene_editing", "centrifugation"]},
        function={"intended_use": "transfusion", "mechanism": ["cell_replacement"], "homologous_use": True},
    )
    r = classify(edited)
    assert (r["us"]["pathway"], r["us"]["gene_therapy"]) == ("351_bla", True)
    plain = make_card("plain-platelets", substance={"kind": "platelets", "cell_type": None, "origin": "allogeneic"}, function={"intended_use": "transfusion"})
    assert classify(plain)["us"]["pathway"] == "not_hct_p"


# ----------------------------------------------------------------------------- EU: Reg 1394/2007, Dir 2001/83

ANNEX_I = ["cutting", "grinding", "centrifugation", "sterilization", "irradiation", "sorting_or_purification", "concentration", "filtration", "freezing", "lyophilization"]


def test_annex_i_list_is_the_eus_own_and_differs_from_n(model):
    g = model.graph
    eu = {model.code_of[i] for i in Collection(g, g.value(g.value(ATMP.EuNotSubstantialManipulation, OWL.equivalentClass), OWL.oneOf))}
    n_substantial = {model.code_of[i] for i in Collection(g, g.value(g.value(ATMP.SubstantialManipulation, OWL.equivalentClass), OWL.oneOf))}
    assert set(ANNEX_I) <= eu
    assert "sorting_or_purification" in eu & n_substantial  # the EU Annex I vs N 293-295
    substantial = {model.code_of[i] for i in Collection(g, g.value(g.value(ATMP.EuSubstantialManipulation, OWL.equivalentClass), OWL.oneOf))}
    recorded = {model.code_of[i] for i in Collection(g, g.value(g.value(ATMP.RecordedOnlyManipulation, OWL.equivalentClass), OWL.oneOf))}
    assert not eu & substantial and eu | substantial | recorded == set(model.property_for("process.manipulations").codes)


@pytest.mark.parametrize("code", ANNEX_I)
def test_each_annex_i_item_alone_is_not_substantial(classify, code):
    r = classify(make_card(f"annex-{code}", process={"manipulations": [code]}, function={"homologous_use": True}))
    assert r["eu"]["atmp"] is False and r["eu"]["class"] is None
    if r["atmp"]:
        assert "xw_n_atmp_eu_not" in xw(r)  # N counts it (sorting is substantial under N 293-295), the EU does not
    substantial = classify(make_card(f"annex-{code}-cultured", process={"manipulations": [code, "culture_expansion"]}, function={"homologous_use": True}))
    assert substantial["eu"]["class"] == "sCTMP"


def test_sorted_cells_are_an_atmp_under_n_not_in_the_eu(classify):
    r = classify(make_card("sorted", process={"manipulations": ["sorting_or_purification", "washing"]}, function={"homologous_use": True}))
    assert r["atmp"] is True and r["eu"]["atmp"] is False and "xw_n_atmp_eu_not" in xw(r)


def test_non_homologous_use_alone_makes_cells_engineered(classify):
    r = classify(
        make_card(
            "bm-mnc-heart",
            substance={"cell_type": "hematopoietic_stem_cell"},
            process={"manipulations": ["centrifugation"]},
            function={"homologous_use": False, "mechanism": ["cell_replacement"]},
        )
    )
    assert r["eu"]["class"] == "TEP"


def test_art_2_5_gtmp_over_sctmp_and_tep(classify):
    r = classify(car_t())
    assert r["eu"]["class"] == "GTMP" and "eu_priority_gtmp" in bl(r, "eu")
    assert r["nmpa"]["class"] == "CTMP" and "xw_n_ctmp_eu_gtmp" in xw(r)
    summary = next(c for c in r["crosswalk"] if c["code"] == "xw_n_ctmp_eu_gtmp")
    assert summary["summary"]["en"] == "N: CTMP; EU: GTMP" and summary["regimes"] == ["n", "eu"] and summary["axis"] == "class"


def test_gtmp_needs_the_effect_to_come_from_the_sequence(classify):
    r = classify(car_t("suicide-gene", function={"effect_from_genetic_sequence": False}))
    assert r["eu"]["class"] == "sCTMP" and "eu_transgene_not_the_effect" in bl(r, "eu")
    assert "xw_us_gene_therapy_eu_not_gtmp" in xw(r)


def test_art_2_4_tep_over_sctmp(classify):
    r = classify(make_card("msc-repair", substance={"cell_type": "mesenchymal_stromal_cell"}, function={"mechanism": ["immunological", "regeneration_or_repair"]}))
    assert r["eu"]["class"] == "TEP" and "eu_priority_tep_over_sctmp" in bl(r, "eu")
    assert r["nmpa"]["class"] == "CTMP" and "xw_n_ctmp_eu_tep" in xw(r)
    assert classify(make_card("msc-immuno", substance={"cell_type": "mesenchymal_stromal_cell"}))["eu"]["class"] == "sCTMP"


def test_vaccines_against_infectious_disease_are_not_gtmp(classify):
    mrna = make_card(
        "mrna-vaccine",
        substance={"kind": "nucleic_acid", "cell_type": None, "origin": "not_applicable", "payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle"},
        process={"manipulations": ["encapsulation", "filtration"]},
        function={"intended_use": "prophylactic_vaccine", "homologous_use": False},
    )
    r = classify(mrna)
    assert r["eu"]["atmp"] is False and r["us"]["gene_therapy"] is False and r["us"]["pathway"] == "351_bla"
    mrna["function"]["intended_use"] = "therapeutic_vaccine"
    mrna["id"] = "mrna-cancer-vaccine"
    r = classify(mrna)
    assert r["eu"]["class"] == "GTMP" and {"eu_vaccine_target_unstated", "eu_mrna_recombinant_unclear"} <= bl(r, "eu")


def test_combined_atmp_needs_an_integral_device(classify):
    card = make_card("on-membrane", substance={"cell_type": "chondrocyte"}, process={"combined_with": ["scaffold_or_matrix"]}, function={"mechanism": ["regeneration_or_repair"]})
    r = classify(card)
    assert r["eu"]["class"] == "TEP" and r["eu"]["combined"] is False and "eu_device_integral_unstated" in bl(r, "eu")
    card["process"]["device_integral"] = True
    r = classify(card)
    assert r["eu"]["combined"] is True and "eu_device_integral_unstated" not in bl(r, "eu")


def test_non_viable_tissue_acting_mechanically_is_not_a_tep(classify):
    scaffold = make_card(
        "decell",
        substance={"kind": "tissue", "cell_type": "other", "origin": "allogeneic"},
        process={"manipulations": ["decellularisation", "sterilization"]},
        function={"mechanism": ["regeneration_or_repair"], "homologous_use": True},
    )
    assert classify(scaffold)["eu"]["atmp"] is False  # viable defaults to false after decellularisation
    scaffold["substance"]["viable"] = True
    assert classify(scaffold)["eu"]["class"] == "TEP"


# ----------------------------------------------------------------------------- Japan: ASRM and PMD Act


def test_asrm_class_i(classify):
    assert classify(make_card("allo", substance={"origin": "allogeneic"}))["jp"]["asrm_class"] == "I"
    assert classify(make_card("edited", substance={"gene_editing_tool": "crispr_cas"}, process={"manipulations": ["gene_editing", "culture_expansion"]}))["jp"]["asrm_class"] == "I"
    assert (
        classify(
            make_card(
                "ips",
                substance={"pluripotent_derived": True, "cell_type": "retinal_pigment_epithelium"},
                process={"manipulations": ["induced_differentiation", "culture_expansion"]},
                function={"mechanism": ["cell_replacement"]},
            )
        )["jp"]["asrm_class"]
        == "I"
    )
    aav = make_card(
        "in-vivo",
        substance={"kind": "viral_vector", "cell_type": None, "origin": "not_applicable", "payload": "genetic_material", "nucleic_acid": "dna", "vector": "aav"},
        process={"manipulations": ["genetic_modification", "filtration"]},
        function={"mechanism": ["gene_regulation"], "homologous_use": False},
    )
    r = classify(aav)
    assert r["jp"]["asrm_class"] == "I" and r["jp"]["regenerative_medical_product"] is True  # the 2025 extension; PMD Act 2(9)(ii)


def test_asrm_class_ii(classify):
    assert classify(make_card("msc", substance={"cell_type": "mesenchymal_stromal_cell"}))["jp"]["asrm_class"] == "II"  # cultured stem cells
    assert classify(make_card("chondro", substance={"cell_type": "chondrocyte"}, function={"mechanism": ["regeneration_or_repair"]}))["jp"]["asrm_class"] == "II"
    prp_joint = make_card("non-homologous", process={"manipulations": ["centrifugation"]}, function={"homologous_use": False})
    assert classify(prp_joint)["jp"]["asrm_class"] == "II"


def test_asrm_class_iii_and_out_of_scope(classify):
    r = classify(make_card("activated", process={"manipulations": ["activation", "washing"]}))
    assert r["jp"]["asrm_class"] == "III" and r["jp"]["regenerative_medical_product"] is True
    r = classify(make_card("washed", process={"manipulations": ["washing"]}))
    assert r["jp"]["asrm_class"] is None and r["jp"]["regenerative_medical_product"] is False
    r = classify(make_card("sorted-jp", process={"manipulations": ["sorting_or_purification"]}))
    assert r["jp"]["asrm_class"] is None and "jp_isolation_by_drug_treatment" in bl(r, "jp")


def test_synthetic_oligonucleotide_is_a_drug_in_japan(classify):
    aso = make_card(
        "aso",
        substance={"kind": "nucleic_acid", "cell_type": None, "origin": "not_applicable", "payload": "genetic_material", "nucleic_acid": "antisense_oligonucleotide"},
        process={"manipulations": ["chemical_synthesis", "filtration"]},
        function={"mechanism": ["gene_regulation"], "homologous_use": False},
    )
    r = classify(aso)
    assert r["jp"]["regenerative_medical_product"] is False and r["jp"]["asrm_class"] == "I"  # unapproved in vivo use: Class I since 2025
    assert r["eu"]["atmp"] is False and "xw_n_gtmp_eu_not_gtmp" in xw(r)


# ----------------------------------------------------------------------------- defaults, selection, schema


def _with_stated_defaults(card: dict) -> dict:
    """The card with every new field it leaves out set to the default the schema and ontology document."""
    c = json.loads(json.dumps(card))
    s, p, f = c["substance"], c["process"], c["function"]
    s.setdefault("donor_relation", {"autologous": "self", "allogeneic": "unrelated"}.get(s.get("origin"), "not_applicable"))
    s.setdefault("viable", s["kind"] in ("cells", "tissue") and "decellularisation" not in p["manipulations"])
    s.setdefault("structural_tissue", s["kind"] == "tissue")
    p.setdefault("same_surgical_procedure", False)
    recombinant = (
        (s["kind"] == "nucleic_acid" and not ("chemical_synthesis" in p["manipulations"] and s.get("nucleic_acid") in ("sirna", "antisense_oligonucleotide")))
        or s["kind"] == "viral_vector"
        or (s["kind"] in ("virus", "bacterium", "bacteriophage", "other_microorganism") and s.get("genetically_engineered"))
        or (s["kind"] == "cells" and bool({"genetic_modification", "gene_editing"} & set(p["manipulations"])))
        or s.get("gene_editing_tool", "none") != "none"
    )
    f.setdefault("effect_from_genetic_sequence", recombinant)
    return c


def _answers(r: dict) -> dict:
    """Everything but the entries that say a field was not stated (stating a default removes them) and explanations."""
    out = {k: v for k, v in r.items() if k not in ("eu", "us", "jp", "explanation")}
    for block in ("eu", "us", "jp"):
        out[block] = {k: v for k, v in r[block].items() if k not in ("borderline", "explanation")}
    return out


def test_documented_defaults_equal_the_rules_defaults(model):
    cards = [c for c in json.loads((ROOT / "catalogue" / "products.json").read_text()) if "donor_relation" not in c["substance"]]
    for c in cards:
        c.pop("provenance")
        c["process"].pop("device_integral", None)
    silent = classify_cards(cards, model=model)
    stated = classify_cards([_with_stated_defaults(c) for c in cards], model=model)
    for a, b in zip(silent, stated, strict=True):
        assert _answers(a) == _answers(b), a["id"]


def test_regime_selection(model):
    card = car_t()
    full = classify_cards([card], model=model)[0]
    only_eu = classify_cards([card], model=model, regimes="n,t,eu")[0]
    assert "us" not in only_eu and "jp" not in only_eu and only_eu["eu"] == full["eu"]
    assert {c["code"] for c in only_eu["crosswalk"]} == {c["code"] for c in full["crosswalk"] if set(c["regimes"]) <= {"n", "t", "eu"}}
    assert {k: v for k, v in only_eu.items() if k not in ("eu", "crosswalk")} == {k: v for k, v in full.items() if k not in ("eu", "us", "jp", "crosswalk")}
    with pytest.raises(RegimeError, match="unknown regime 'xx'"):
        parse_selection(model, "n,xx")


def test_cli_regimes_flag_and_bad_value(tmp_path):
    path = tmp_path / "card.json"
    path.write_text(json.dumps(car_t()))
    ok = subprocess.run([sys.executable, "-m", "atmp.cli", "classify", str(path), "--regimes", "n,us"], capture_output=True, timeout=300)
    assert ok.returncode == 0, ok.stderr.decode()
    result = json.loads(ok.stdout)
    assert "us" in result and "eu" not in result and {c["code"] for c in result["crosswalk"]} == {"xw_n_ctmp_us_gene_therapy"}
    bad = subprocess.run([sys.executable, "-m", "atmp.cli", "classify", str(path), "--regimes", "n,uk"], capture_output=True, timeout=300)
    assert bad.returncode == 2 and b"--regimes" in bad.stderr and b"uk" in bad.stderr and b"Traceback" not in bad.stderr


def test_results_follow_the_result_schema_and_codes_match_the_ontology(model):
    from atmp.core.rules.regimes import field_shapes
    from atmp.core.rules.resources import RESULT_SCHEMA, schema
    from jsonschema import Draft202012Validator

    spec = schema(RESULT_SCHEMA)
    validator = Draft202012Validator(spec)
    cards = [c for c in json.loads((ROOT / "catalogue" / "products.json").read_text())]
    for r in classify_cards(cards, model=model):
        errors = list(validator.iter_errors(r))
        assert not errors, (r["id"], errors[0].message)
    for shape in field_shapes(model):
        prop = spec["properties"][shape.block]["properties"][shape.key]
        if shape.kind == "code":
            assert {c.code for c in shape.classes} == {e for e in prop["enum"] if e is not None}, shape.key
        elif shape.kind == "flag":
            assert prop["type"] == "boolean"
