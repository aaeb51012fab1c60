"""Issue 12: boundaries an independent review found misfiled or unreported, one test per finding.

1. Tissue or an organ modified ex vivo (editing tool, viral vector) is tissue engineered, not GTMP (N 272-276, 311-315,
   225-227), with a borderline entry that weighs those lines.
2. Every application of a priority rule is reported, also when the enucleated carrier comes from modified precursors.
3. ``genetic_modification_needs_material`` treats an anucleate product the same whatever vector it names.
4. Explanations and borderline messages name what applied to this product, by label, never by raw code.

Each card is classified by HermiT and the compiled engine (``conftest.classify`` checks they agree).
"""

from __future__ import annotations

import pytest

from .conftest import make_card


def tissue(card_id: str, *, substance: dict | None = None, process: dict | None = None, function: dict | None = None) -> dict:
    """A tissue or organ graft for regeneration or replacement, without a cell type."""
    return make_card(
        card_id,
        substance={"kind": "tissue", "cell_type": None, "origin": "allogeneic", **(substance or {})},
        process={"manipulations": ["culture_expansion", "washing"], **(process or {})},
        function={"mechanism": ["regeneration_or_repair", "cell_replacement"], "systemic_effect": False, **(function or {})},
    )


GENE_EDITED_KIDNEY = tissue(
    "gene-edited-pig-kidney",
    substance={"origin": "xenogeneic", "gene_editing_tool": "crispr_cas"},
    process={"manipulations": ["gene_editing", "washing"]},
)
LENTIVIRAL_TISSUE = tissue(
    "lentivirus-modified-tissue",
    substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"},
    process={"manipulations": ["genetic_modification", "culture_expansion"]},
)
PLASMID_TISSUE = tissue(
    "plasmid-modified-tissue",
    substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "plasmid"},
    process={"manipulations": ["genetic_modification", "culture_expansion"]},
)
CARTILAGE = tissue("cultured-cartilage")
EDITED_CELLS = make_card(
    "edited-t-cells",
    substance={"gene_editing_tool": "crispr_cas"},
    process={"manipulations": ["gene_editing", "culture_expansion"]},
)
LENTIVIRAL_CELLS = make_card(
    "lentiviral-t-cells",
    substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"},
    process={"manipulations": ["genetic_modification", "culture_expansion"]},
)


def codes(r: dict) -> list[str]:
    return [b["code"] for b in r["borderline"]]


def message(r: dict, code: str) -> dict[str, str]:
    return next(b["message"] for b in r["borderline"] if b["code"] == code)


# ============================================================================================= 1. modified tissue


@pytest.mark.parametrize("card", [GENE_EDITED_KIDNEY, LENTIVIRAL_TISSUE, PLASMID_TISSUE], ids=lambda c: c["id"])
def test_tissue_modified_ex_vivo_is_tissue_engineered_not_gtmp(classify, card):
    r = classify(card)
    assert r["atmp"] is True
    assert r["nmpa"] == {"class": "OTHER", "subclass": "tissue_engineered"}
    assert "genetically_modified_tissue_is_tissue_engineered" in codes(r)
    text = message(r, "genetically_modified_tissue_is_tissue_engineered")
    for lines in ("272-276", "311-315", "225-227", "263-271"):
        assert lines in text["en"] and lines in text["zh"]
    entry = next(e for e in r["explanation"] if e["conclusion"] == "nmpa.subclass = tissue_engineered")
    assert any(b.get("rule") == "FitsTissueEngineered" and b["holds"] for b in entry["because"])
    assert any(b.get("rule") == "FitsGeneEditingGTMP" and b["holds"] is False for b in entry["because"])
    why = next(e for e in r["explanation"] if e["conclusion"] == "borderline: genetically_modified_tissue_is_tissue_engineered")
    assert any(b.get("rule") == "ExVivoGeneticallyModifiedTissueProduct" and b["holds"] for b in why["because"])


def test_unmodified_tissue_has_no_modified_tissue_entry(classify):
    r = classify(CARTILAGE)
    assert r["nmpa"]["subclass"] == "tissue_engineered"
    assert "genetically_modified_tissue_is_tissue_engineered" not in codes(r)


@pytest.mark.parametrize(("card", "gtmp"), [(EDITED_CELLS, "FitsGeneEditingGTMP"), (LENTIVIRAL_CELLS, "FitsViralVectorGTMP")], ids=["editing", "lentivirus"])
def test_cells_modified_ex_vivo_stay_ex_vivo_ctmp_with_the_priority_reported(classify, card, gtmp):
    """The tissue decision leaves cells alone: they meet the GTMP description and rank 2 wins (N 263-271, 313-315)."""
    r = classify(card)
    assert r["nmpa"]["subclass"] == "ex_vivo_genetically_modified_ctmp"
    assert "priority_ex_vivo_ctmp_over_gtmp" in codes(r)
    assert "genetically_modified_tissue_is_tissue_engineered" not in codes(r)


def test_editing_tool_delivered_in_vivo_is_still_gene_editing_gtmp(classify):
    lnp = make_card(
        "editing-lnp",
        substance={
            "kind": "nucleic_acid",
            "cell_type": None,
            "origin": "not_applicable",
            "payload": "genetic_material",
            "nucleic_acid": "mrna",
            "vector": "lipid_nanoparticle",
            "gene_editing_tool": "crispr_cas",
        },
        process={"manipulations": ["filtration", "filling"]},
        function={"mechanism": ["gene_regulation"], "homologous_use": False},
    )
    assert classify(lnp)["nmpa"]["subclass"] == "gene_editing_gtmp"


def test_the_decision_is_an_annotated_axiom(model):
    """The decision is written in the ontology, with its reasons and the lines it weighs, in both languages."""
    from atmp.core.rules.namespaces import ATMP, SKOS

    notes = {n.language: str(n) for n in model.graph.objects(ATMP.ExVivoGeneticallyModifiedTissueProduct, SKOS.editorialNote)}
    assert set(notes) == {"en", "zh"}
    for lines in ("272-276", "311-315", "225-227"):
        assert all(lines in note for note in notes.values())


# ============================================================================================= 2. priority on carriers

RED_CELL_CARRIER = make_card(
    "engineered-red-cell-carrier",
    substance={"kind": "enucleated_cells", "cell_type": "red_blood_cell", "origin": "allogeneic", "pluripotent_derived": True, "payload": "protein", "vector": "cell"},
    process={"manipulations": ["induced_differentiation", "culture_expansion", "loading", "washing"]},
    function={"mechanism": ["metabolic"], "homologous_use": False},
)
RED_CELL_CARRIER_FROM_MODIFIED_LINE = make_card(
    "engineered-red-cell-carrier-modified-line",
    substance=RED_CELL_CARRIER["substance"],
    process={"manipulations": ["genetic_modification", *RED_CELL_CARRIER["process"]["manipulations"]]},
    function=RED_CELL_CARRIER["function"],
)


@pytest.mark.parametrize(
    ("card", "applied"),
    [(RED_CELL_CARRIER, "FitsNonGeneticallyModifiedCTMP"), (RED_CELL_CARRIER_FROM_MODIFIED_LINE, "GeneticallyModifiedEnucleatedCellProduct")],
    ids=["unmodified-precursors", "modified-precursors"],
)
def test_novel_delivery_priority_is_reported_whatever_the_precursors(classify, model, card, applied):
    """N 255-257 files enucleated carriers of non-genetic actives as novel delivery systems; the priority entry says which description competed."""
    from atmp.core.rules.namespaces import ATMP

    r = classify(card)
    assert r["nmpa"]["subclass"] == "novel_delivery_system"
    assert r["violations"] == []
    assert "priority_novel_delivery_over_ctmp" in codes(r)
    text = message(r, "priority_novel_delivery_over_ctmp")
    label = model.label(ATMP[applied])
    assert label["en"] in text["en"] and label["zh"] in text["zh"]


def test_every_product_meeting_two_descriptions_reports_a_priority(classify, model):
    """Whenever a product meets two or more N class descriptions, the result says which priority decided."""
    from atmp.core.card.facts import card_facts
    from atmp.core.classify import evaluator_for
    from atmp.core.rules.namespaces import ATMP
    from rdflib import RDFS

    descriptions = sorted(model.graph.subjects(RDFS.subClassOf, ATMP.ClassDescriptionMet))
    ev = evaluator_for(model)
    for card in (RED_CELL_CARRIER, RED_CELL_CARRIER_FROM_MODIFIED_LINE, GENE_EDITED_KIDNEY, LENTIVIRAL_TISSUE, EDITED_CELLS, LENTIVIRAL_CELLS):
        ctx = ev.product_context(card_facts(model, card))
        met = [d for d in descriptions if ctx.member(d)]
        r = classify(card)
        deciding = {"priority_novel_delivery_over_ctmp", "priority_ex_vivo_ctmp_over_gtmp", "genetically_modified_tissue_is_tissue_engineered", "priority_genetic_material_is_gtmp"}
        if len(met) >= 2 or "genetically_modified_tissue_is_tissue_engineered" in codes(r):
            assert deciding & set(codes(r)), (card["id"], met, codes(r))


# ============================================================================================= 3. the shape on anucleate products

IPSC_PLATELETS = {
    "substance": {"kind": "platelets", "cell_type": None, "origin": "allogeneic", "pluripotent_derived": True},
    "process": {"manipulations": ["genetic_modification", "induced_differentiation", "culture_expansion"]},
    "function": {"mechanism": ["regeneration_or_repair"], "homologous_use": True, "systemic_effect": True},
}


def shape_codes(card: dict) -> set[str]:
    from atmp.core.result.validate import validate_cards
    from atmp.core.rules.ontology import load_model

    return {v["code"] for v in validate_cards(load_model(), [card])[0]["violations"]}


@pytest.mark.parametrize("vector", ["none", "cell"])
def test_anucleate_product_from_a_modified_line_needs_no_genetic_material(vector):
    """The precursor line was modified; the platelets carry no genome: the shape is quiet whatever vector is named."""
    card = make_card(f"ipsc-platelets-{vector}", **{**IPSC_PLATELETS, "substance": {**IPSC_PLATELETS["substance"], "vector": vector}})
    assert "genetic_modification_needs_material" not in shape_codes(card)


@pytest.mark.parametrize("vector", ["none", "cell"])
def test_nucleated_cells_listed_as_modified_need_genetic_material(vector):
    """Cells with a nucleus: 'cell' delivers actives, not genes, so it counts as no vector, like 'none'."""
    card = make_card(f"modified-t-cells-{vector}", substance={"vector": vector}, process={"manipulations": ["genetic_modification", "culture_expansion"]})
    assert "genetic_modification_needs_material" in shape_codes(card)


def test_nucleated_cells_with_genetic_material_pass():
    card = make_card(
        "modified-t-cells-lentivirus", substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"}, process={"manipulations": ["genetic_modification"]}
    )
    assert "genetic_modification_needs_material" not in shape_codes(card)


# ============================================================================================= 4. messages name what applied

DONATED_MARROW = make_card(
    "donated-marrow",
    substance={"cell_type": "hematopoietic_stem_cell", "origin": "allogeneic"},
    process={"manipulations": ["washing", "centrifugation"]},
    function={"intended_use": "transplantation", "mechanism": ["cell_replacement"]},
)
WASHED_LYMPHOCYTES = make_card("washed-lymphocytes", substance={"origin": "allogeneic"}, process={"manipulations": ["washing", "centrifugation"]})


def test_not_an_atmp_names_the_exclusion_by_label_from_the_ontology(classify, model):
    from atmp.core.rules.namespaces import ATMP

    r = classify(DONATED_MARROW)
    assert r["atmp"] is False and r["exclusion"] == "donated_for_transplantation"
    entry = r["explanation"][0]
    assert entry["conclusion"] == "atmp = false"
    label = model.label(ATMP.DonatedForTransplantationExclusion)
    for lang in ("en", "zh"):
        assert entry["text"][lang].startswith(model.definition(ATMP.NotAnATMP)[lang])
        assert label[lang] in entry["text"][lang]
        assert "donated_for_transplantation" not in entry["text"][lang]
    assert entry["label"] == model.label(ATMP.NotAnATMP)
    assert entry["because"][0]["rule"] == "DonatedForTransplantationExclusion" and entry["because"][0]["holds"] is True


def test_excluded_but_graded_names_only_the_exclusion_that_applied(classify, model):
    from atmp.core.rules.namespaces import ATMP

    for card, applied, others in [
        (DONATED_MARROW, ATMP.DonatedForTransplantationExclusion, [ATMP.NoSubstantialManipulationExclusion, ATMP.MechanicalModeOfActionExclusion]),
        (WASHED_LYMPHOCYTES, ATMP.NoSubstantialManipulationExclusion, [ATMP.DonatedForTransplantationExclusion, ATMP.MechanicalModeOfActionExclusion]),
    ]:
        r = classify(card)
        text = message(r, "excluded_by_n_graded_by_t")
        for lang in ("en", "zh"):
            assert model.label(applied)[lang] in text[lang]
            assert not any(model.label(o)[lang] in text[lang] for o in others)
        why = next(e for e in r["explanation"] if e["conclusion"] == "borderline: excluded_by_n_graded_by_t")
        assert why["text"] == text


def test_tier_conflict_names_the_low_criterion_that_held(classify, model):
    from atmp.core.rules.namespaces import ATMP

    r = classify(WASHED_LYMPHOCYTES)
    assert 11 in r["tianjin"]["criteria"] and 13 not in r["tianjin"]["criteria"]
    text = message(r, "tier_conflict_low_criterion")
    for lang in ("en", "zh"):
        assert model.label(ATMP.Criterion11Met)[lang] in text[lang]
        assert model.label(ATMP.Criterion13Met)[lang] not in text[lang]
        assert "13" not in text[lang]


def test_ex_vivo_priority_names_the_gtmp_description_met(classify, model):
    from atmp.core.rules.namespaces import ATMP

    edited, lentiviral = message(classify(EDITED_CELLS), "priority_ex_vivo_ctmp_over_gtmp"), message(classify(LENTIVIRAL_CELLS), "priority_ex_vivo_ctmp_over_gtmp")
    assert model.label(ATMP.FitsGeneEditingGTMP)["en"] in edited["en"] and model.label(ATMP.FitsViralVectorGTMP)["en"] not in edited["en"]
    assert model.label(ATMP.FitsViralVectorGTMP)["zh"] in lentiviral["zh"] and model.label(ATMP.FitsGeneEditingGTMP)["zh"] not in lentiviral["zh"]


def test_no_raw_code_inside_a_chinese_sentence(classify, model):
    """Chinese texts of conclusions and borderline messages carry labels, not the contract's snake_case codes."""
    import re

    for card in (DONATED_MARROW, WASHED_LYMPHOCYTES, GENE_EDITED_KIDNEY, RED_CELL_CARRIER_FROM_MODIFIED_LINE, EDITED_CELLS):
        r = classify(card)
        texts = [b["message"]["zh"] for b in r["borderline"]] + [e["text"]["zh"] for e in r["explanation"] if isinstance(e.get("text"), dict) and "zh" in e["text"]]
        for text in texts:
            assert not re.search(r"[a-z]+_[a-z_]+", text), text


@pytest.mark.parametrize(
    ("card", "applied", "other"),
    [
        (
            make_card("bioprinted-chondrocytes", substance={"cell_type": "chondrocyte"}, process={"manipulations": ["culture_expansion", "three_d_printing"]}),
            "FabricatedTissueProduct",
            "CellsWithDeviceMaterialProduct",
        ),
        (
            make_card(
                "chondrocytes-on-scaffold", substance={"cell_type": "chondrocyte"}, process={"manipulations": ["culture_expansion"], "combined_with": ["scaffold_or_matrix"]}
            ),
            "CellsWithDeviceMaterialProduct",
            "FabricatedTissueProduct",
        ),
    ],
    ids=["bioprinted", "scaffold"],
)
def test_ctmp_over_tissue_engineered_names_the_tissue_engineered_description_met(classify, model, card, applied, other):
    from atmp.core.rules.namespaces import ATMP

    r = classify(card)
    assert r["nmpa"]["class"] == "CTMP"
    text = message(r, "priority_ctmp_over_tissue_engineered")
    for lang in ("en", "zh"):
        assert model.label(ATMP[applied])[lang] in text[lang]
        assert model.label(ATMP[other])[lang] not in text[lang]
