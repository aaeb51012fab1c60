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
        substance={"kind": "nucleic_acid", "cell_type": None, "origin": "not_applicable", "payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle", "gene_editing_tool": "crispr_cas"},
        process={"manipulations": ["filtration", "filling"]},
        function={"mechanism": ["gene_regulation"], "homologous_use": False},
    )
    assert classify(lnp)["nmpa"]["subclass"] == "gene_editing_gtmp"


def test_the_decision_is_an_annotated_axiom(model):
    """The decision is written in the ontology, with its reasons and the lines it weighs, in both languages."""
    from atmp.core.namespaces import ATMP, SKOS

    notes = {n.language: str(n) for n in model.graph.objects(ATMP.ExVivoGeneticallyModifiedTissueProduct, SKOS.editorialNote)}
    assert set(notes) == {"en", "zh"}
    for lines in ("272-276", "311-315", "225-227"):
        assert all(lines in note for note in notes.values())
