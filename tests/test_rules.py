"""The contract's rules, one at a time: Tianjin criteria and tiers, NMPA subclasses, exclusions, priority rules, Tianjin scope.

Each rule is exercised by a card that triggers it and, where it makes sense, a minimal contrast card that does not.
Cards are built from the coherent autologous T-cell card of ``conftest.BASE_CARD``; results are memoised per card,
so a card shared by several tests is reasoned over once (HermiT, checked against the compiled engine).
"""

from __future__ import annotations

import json

import pytest

from .conftest import make_card

# --------------------------------------------------------------------------------------------- card builders


def cells(card_id: str, *, substance: dict | None = None, process: dict | None = None, function: dict | None = None) -> dict:
    """A cell card: the base autologous T cells with some fields replaced."""
    return make_card(card_id, substance=substance or {}, process=process or {}, function=function or {})


def product(card_id: str, kind: str, *, substance: dict | None = None, process: dict | None = None, function: dict | None = None) -> dict:
    """A product without a human donor (nucleic acid, vector, microbe, molecule): no cell type, not homologous."""
    return make_card(
        card_id,
        substance={"kind": kind, "cell_type": None, "origin": "not_applicable", **(substance or {})},
        process={"manipulations": ["filtration", "filling"], **(process or {})},
        function={"mechanism": ["pharmacological"], "homologous_use": False, **(function or {})},
    )


def derived(card_id: str, kind: str, *, substance: dict | None = None, process: dict | None = None, function: dict | None = None) -> dict:
    """A cell-derived product (vesicles, organelles, platelets) from an allogeneic donor."""
    return make_card(
        card_id,
        substance={"kind": kind, "cell_type": None, "origin": "allogeneic", **(substance or {})},
        process={"manipulations": ["culture_expansion", "sorting_or_purification", "filtration"], **(process or {})},
        function={"mechanism": ["immunological", "regeneration_or_repair"], "homologous_use": False, **(function or {})},
    )


GENE = {"payload": "genetic_material", "nucleic_acid": "dna"}
MICROBE = {"replication_competent": True}

# --------------------------------------------------------------------------------------------- cell cards

T_CELLS = cells("t-cells")  # culture_expansion, homologous, systemic: criteria 7 and 9
FIRST_IN_HUMAN = cells("first-in-human-t-cells", substance={"first_human_use": True})
CAR_T = cells(
    "car-t",
    substance={**GENE, "vector": "lentivirus"},
    process={"manipulations": ["activation", "genetic_modification", "culture_expansion", "washing"]},
    function={"homologous_use": False},
)
EDITED_HSC = cells(
    "edited-hsc",
    substance={"cell_type": "hematopoietic_stem_cell", "gene_editing_tool": "crispr_cas"},
    process={"manipulations": ["sorting_or_purification", "gene_editing", "washing"]},
    function={"mechanism": ["gene_regulation", "cell_replacement"]},
)
MSC = cells(
    "allogeneic-msc",
    substance={"cell_type": "mesenchymal_stromal_cell", "origin": "allogeneic"},
    function={"homologous_use": False},
)
IPSC_NEURONS = cells(
    "ipsc-dopaminergic-neurons",
    substance={"cell_type": "dopaminergic_neuron", "origin": "allogeneic", "pluripotent_derived": True},
    process={"manipulations": ["induced_differentiation", "culture_expansion", "freezing"]},
    function={"mechanism": ["cell_replacement"], "homologous_use": False, "systemic_effect": False},
)
IPSC_NEURONS_NOT_TUMORIGENIC = cells(
    "ipsc-neurons-not-tumorigenic",
    substance=IPSC_NEURONS["substance"],
    process=IPSC_NEURONS["process"],
    function={**IPSC_NEURONS["function"], "tumorigenic_risk": False},
)
TUMORIGENIC_T_CELLS = cells("tumorigenic-t-cells", function={"tumorigenic_risk": True})
IPSC_NK = cells(
    "ipsc-nk-cells",
    substance={"cell_type": "nk_cell", "origin": "allogeneic", "pluripotent_derived": True},
    process={"manipulations": ["induced_differentiation", "culture_expansion"]},
    function={"homologous_use": False},
)
REPROGRAMMED = cells(
    "reprogrammed-cardiomyocytes",
    substance={"cell_type": "cardiomyocyte"},
    process={"manipulations": ["reprogramming", "culture_expansion"]},
    function={"mechanism": ["cell_replacement"], "homologous_use": False, "systemic_effect": False},
)
DC_WITH_DRUG = cells(
    "dendritic-cells-with-drug",
    substance={"cell_type": "dendritic_cell"},
    process={"manipulations": ["centrifugation", "activation", "washing"], "combined_with": ["drug"]},
    function={"intended_use": "therapeutic_vaccine"},
)
LIMBAL_ON_SCAFFOLD = cells(
    "limbal-stem-cells-on-scaffold",
    substance={"cell_type": "limbal_stem_cell"},
    process={"manipulations": ["enzymatic_digestion", "culture_expansion"], "combined_with": ["scaffold_or_matrix"]},
    function={"mechanism": ["regeneration_or_repair", "cell_replacement"], "systemic_effect": False},
)
ENCAPSULATED_ISLETS = cells(
    "encapsulated-islets",
    substance={"cell_type": "islet_cell", "origin": "allogeneic"},
    process={"manipulations": ["washing", "encapsulation"]},
    function={"mechanism": ["metabolic"]},
)
WASHED_LYMPHOCYTES = cells(  # minimal manipulation, homologous, systemic: criteria 9 and 11
    "washed-donor-lymphocytes",
    substance={"origin": "allogeneic"},
    process={"manipulations": ["washing", "centrifugation"]},
)
MINIMAL_NON_HOMOLOGOUS_SVF = cells(
    "minimal-non-homologous-svf",
    substance={"cell_type": "stromal_vascular_fraction"},
    process={"manipulations": ["centrifugation", "washing"]},
    function={"mechanism": ["regeneration_or_repair"], "homologous_use": False, "systemic_effect": False},
)
LOCAL_CHONDROCYTES = {  # substantially manipulated, homologous, local, not relying on living-cell metabolism
    "substance": {"cell_type": "chondrocyte"},
    "process": {"manipulations": ["enzymatic_digestion", "culture_expansion"]},
    "function": {"mechanism": ["regeneration_or_repair"], "systemic_effect": False, "depends_on_living_cell_metabolism": False},
}
AUTOLOGOUS_LOCAL = cells("autologous-local-chondrocytes", **LOCAL_CHONDROCYTES)
ALLOGENEIC_LOCAL = cells("allogeneic-local-chondrocytes", **{**LOCAL_CHONDROCYTES, "substance": {"cell_type": "chondrocyte", "origin": "allogeneic"}})
AUTOLOGOUS_LOCAL_METABOLIC = cells(
    "autologous-local-metabolic-chondrocytes",
    **{**LOCAL_CHONDROCYTES, "function": {**LOCAL_CHONDROCYTES["function"], "depends_on_living_cell_metabolism": ...}},
)
AUTOLOGOUS_LOCAL_ON_SCAFFOLD = cells(
    "autologous-local-chondrocytes-on-scaffold",
    **{**LOCAL_CHONDROCYTES, "process": {**LOCAL_CHONDROCYTES["process"], "combined_with": ["scaffold_or_matrix"]}},
)
NEOANTIGEN_DC = cells(
    "neoantigen-loaded-dendritic-cells",
    substance={"cell_type": "dendritic_cell", "neoantigen": True, "payload": "peptide"},
    process={"manipulations": ["culture_expansion", "loading", "washing"]},
    function={"intended_use": "therapeutic_vaccine", "homologous_use": False},
)
MSC_CARRYING_DRUG = cells(
    "msc-carrying-small-molecule",
    substance={"cell_type": "mesenchymal_stromal_cell", "origin": "allogeneic", "payload": "small_molecule", "vector": "cell"},
    process={"manipulations": ["culture_expansion", "loading", "washing"]},
    function={"mechanism": ["pharmacological"], "homologous_use": False},
)
XENOGENEIC_ISLETS = cells(
    "porcine-islets",
    substance={"cell_type": "islet_cell", "origin": "xenogeneic"},
    process={"manipulations": ["enzymatic_digestion", "sorting_or_purification", "washing"]},
    function={"intended_use": "transplantation", "mechanism": ["metabolic", "cell_replacement"]},
)
ALLOGENEIC_ISLETS = cells(
    "allogeneic-islets",
    substance={"cell_type": "islet_cell", "origin": "allogeneic"},
    process=XENOGENEIC_ISLETS["process"],
    function=XENOGENEIC_ISLETS["function"],
)
BONE_MARROW = cells(  # donated, not substantially manipulated, homologous
    "bone-marrow-graft",
    substance={"cell_type": "hematopoietic_stem_cell", "origin": "allogeneic"},
    process={"manipulations": ["filtration"]},
    function={"intended_use": "transplantation", "mechanism": ["cell_replacement"]},
)
BONE_MARROW_DIGESTED = cells(
    "bone-marrow-digested",
    substance=BONE_MARROW["substance"],
    process={"manipulations": ["enzymatic_digestion", "filtration"]},
    function=BONE_MARROW["function"],
)
MECHANICAL_CHONDROCYTES = cells(
    "chondrocyte-bulking-agent",
    substance={"cell_type": "chondrocyte"},
    process={"manipulations": ["enzymatic_digestion", "culture_expansion"], "combined_with": ["biomaterial"]},
    function={"mechanism": ["mechanical"], "homologous_use": False, "systemic_effect": False},
)
MECHANICAL_AND_REGENERATIVE_CHONDROCYTES = cells(
    "chondrocyte-bulking-and-repair",
    substance=MECHANICAL_CHONDROCYTES["substance"],
    process=MECHANICAL_CHONDROCYTES["process"],
    function={**MECHANICAL_CHONDROCYTES["function"], "mechanism": ["mechanical", "regeneration_or_repair"]},
)

# --------------------------------------------------------------------------------------------- tissue cards

FAT_GRAFT = cells(
    "autologous-fat-graft",
    substance={"kind": "tissue", "cell_type": "other"},
    process={"manipulations": ["centrifugation", "washing"]},
    function={"mechanism": ["regeneration_or_repair", "mechanical"], "systemic_effect": False},
)
NON_METABOLIC_TISSUE = {
    "substance": {"kind": "tissue", "cell_type": "other", "origin": "allogeneic"},
    "process": {"manipulations": ["cutting", "washing"]},
    "function": {"mechanism": ["regeneration_or_repair"], "homologous_use": False, "systemic_effect": False, "depends_on_living_cell_metabolism": False},
}
LOCAL_TISSUE_NOT_METABOLIC = cells("local-tissue-not-metabolic", **NON_METABOLIC_TISSUE)
LOCAL_TISSUE_METABOLIC = cells(
    "local-tissue-metabolic",
    **{**NON_METABOLIC_TISSUE, "function": {**NON_METABOLIC_TISSUE["function"], "depends_on_living_cell_metabolism": ...}},
)
ENGINEERED_CARTILAGE = cells(
    "engineered-cartilage",
    substance={"kind": "tissue", "cell_type": "chondrocyte"},
    process={"manipulations": ["enzymatic_digestion", "culture_expansion"], "combined_with": ["scaffold_or_matrix", "biomaterial"]},
    function={"mechanism": ["regeneration_or_repair"], "systemic_effect": False},
)

# --------------------------------------------------------------------------------------------- gene, vector, microbe cards

AAV = product(
    "aav-gene-therapy",
    "viral_vector",
    substance={**GENE, "vector": "aav"},
    process={"manipulations": ["genetic_modification", "filtration", "filling"]},
    function={"mechanism": ["gene_regulation"]},
)
MRNA_LNP = product(
    "mrna-lnp",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle"},
    process={"manipulations": ["encapsulation", "filtration", "filling"]},
    function={"mechanism": ["metabolic"]},
)
SIRNA = product(
    "synthetic-sirna",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "sirna", "vector": "lipid_nanoparticle"},
    process={"manipulations": ["chemical_synthesis", "encapsulation", "filtration"]},
    function={"mechanism": ["gene_regulation"]},
)
ASO = product(
    "synthetic-antisense",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "antisense_oligonucleotide"},
    process={"manipulations": ["chemical_synthesis", "filtration", "filling"]},
    function={"mechanism": ["gene_regulation"]},
)
EDITING_LNP = product(
    "crispr-mrna-lnp",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle", "gene_editing_tool": "crispr_cas"},
    process={"manipulations": ["encapsulation", "filtration", "filling"]},
    function={"mechanism": ["gene_regulation"]},
)
NEOANTIGEN_MRNA = product(
    "neoantigen-mrna-lnp",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle", "neoantigen": True},
    process={"manipulations": ["encapsulation", "filtration", "filling"]},
    function={"intended_use": "therapeutic_vaccine", "mechanism": ["immunological"]},
)
ENGINEERED_BACTERIUM = product(
    "engineered-bacterium",
    "bacterium",
    substance={**GENE, "vector": "bacterium", "genetically_engineered": True},
    process={"manipulations": ["genetic_modification", "lyophilization"]},
    function={"mechanism": ["metabolic"]},
)
ONCOLYTIC_ENGINEERED = product(  # engineered, no transgene payload: oncolytic only
    "engineered-oncolytic-adenovirus",
    "virus",
    substance={**MICROBE, "genetically_engineered": True, "oncolytic": True},
    process={"manipulations": ["engineering_modification", "filtration", "filling"]},
    function={"mechanism": ["oncolysis"], "systemic_effect": False},
)
ONCOLYTIC_TRANSGENE = product(
    "oncolytic-hsv-with-transgene",
    "virus",
    substance={**GENE, **MICROBE, "vector": "hsv", "genetically_engineered": True, "oncolytic": True},
    process={"manipulations": ["genetic_modification", "filtration", "filling"]},
    function={"mechanism": ["oncolysis", "immunological"], "systemic_effect": False},
)
WILD_TYPE_ONCOLYTIC = product(
    "wild-type-oncolytic-virus",
    "virus",
    substance={**MICROBE, "oncolytic": True},
    process={"manipulations": ["culture_expansion", "sorting_or_purification", "filtration"]},
    function={"mechanism": ["oncolysis"], "systemic_effect": False},
)
CAS9_PROTEIN = product(
    "cas9-ribonucleoprotein",
    "protein",
    substance={"gene_editing_tool": "crispr_cas"},
    function={"mechanism": ["gene_regulation"]},
)
EPIGENETIC_LNP = product(  # an epigenetic silencer's mRNA in LNP (issue 29): expression, not sequence
    "epigenetic-silencer-mrna-lnp",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "mrna", "vector": "lipid_nanoparticle", "gene_editing_tool": "epigenetic_editor"},
    process={"manipulations": ["encapsulation", "filtration", "filling"]},
    function={"mechanism": ["gene_regulation"]},
)
EPIGENETIC_AAV = product(
    "epigenetic-silencer-aav",
    "viral_vector",
    substance={**GENE, "vector": "aav", "gene_editing_tool": "epigenetic_editor"},
    process={"manipulations": ["genetic_modification", "filtration", "filling"]},
    function={"mechanism": ["gene_regulation"], "systemic_effect": False},
)
EPIGENETIC_PROTEIN = product(  # a dCas-effector ribonucleoprotein: no genetic payload of its own
    "epigenetic-editor-ribonucleoprotein",
    "protein",
    substance={"gene_editing_tool": "epigenetic_editor"},
    function={"mechanism": ["gene_regulation"]},
)
APTAMER = product(  # binds an extracellular protein, as an antibody does (issue 29): no genetic payload
    "rna-aptamer",
    "nucleic_acid",
    substance={"payload": "none", "nucleic_acid": "aptamer"},
    process={"manipulations": ["chemical_synthesis", "filtration", "filling"]},
    function={"systemic_effect": False},
)
LOCAL_PLASMID = product(  # no substantial manipulation, used locally (issue 33): a cell would meet criterion 12
    "local-plasmid",
    "nucleic_acid",
    substance={**GENE, "vector": "plasmid"},
    process={"manipulations": ["filtration", "lyophilization", "filling"]},
    function={"mechanism": ["gene_regulation"], "systemic_effect": False},
)
HOMOLOGOUS_OLIGONUCLEOTIDE = product(  # a cell would meet criterion 11
    "homologous-antisense",
    "nucleic_acid",
    substance={"payload": "genetic_material", "nucleic_acid": "antisense_oligonucleotide"},
    process={"manipulations": ["chemical_synthesis", "filtration"]},
    function={"mechanism": ["gene_regulation"], "homologous_use": True, "systemic_effect": False},
)
NEOANTIGEN_PEPTIDE = product(
    "neoantigen-peptides",
    "peptide",
    substance={"neoantigen": True},
    process={"manipulations": ["chemical_synthesis", "filtration", "filling"]},
    function={"intended_use": "therapeutic_vaccine", "mechanism": ["immunological"]},
)

# --------------------------------------------------------------------------------------------- cell derivatives

VESICLES = derived("msc-exosomes", "extracellular_vesicles")
MITOCHONDRIA = derived("mitochondria", "organelles", function={"mechanism": ["metabolic"]})
PLATELETS = derived(
    "platelets",
    "platelets",
    process={"manipulations": ["sorting_or_purification", "washing"]},
    function={"mechanism": ["regeneration_or_repair"], "systemic_effect": False},
)
VESICLES_WITH_RNA = derived(
    "vesicles-carrying-sirna",
    "extracellular_vesicles",
    substance={"payload": "genetic_material", "nucleic_acid": "sirna", "vector": "extracellular_vesicle"},
    process={"manipulations": ["culture_expansion", "engineering_modification", "loading", "filtration"]},
    function={"mechanism": ["gene_regulation"]},
)
VESICLES_WITH_PROTEIN = derived(
    "vesicles-carrying-protein",
    "extracellular_vesicles",
    substance={"payload": "protein", "vector": "extracellular_vesicle"},
    process={"manipulations": ["culture_expansion", "loading", "filtration"]},
    function={"mechanism": ["pharmacological"]},
)
RBC_CARRIER = make_card(
    "red-cells-carrying-enzyme",
    substance={"kind": "enucleated_cells", "cell_type": "red_blood_cell", "origin": "allogeneic", "payload": "protein", "vector": "cell"},
    process={"manipulations": ["washing", "encapsulation", "centrifugation"]},
    function={"mechanism": ["metabolic"], "homologous_use": False},
)

# --------------------------------------------------------------------------------------------- excluded products

IVF_EMBRYO = make_card(
    "cultured-embryo",
    substance={"kind": "germ_cells_or_embryos", "cell_type": None},
    process={"manipulations": ["culture_expansion", "freezing"]},
    function={"intended_use": "assisted_reproduction", "mechanism": ["cell_replacement"], "systemic_effect": False},
)
RED_CELLS_FOR_TRANSFUSION = make_card(
    "red-cells-for-transfusion",
    substance={"kind": "blood_component", "cell_type": None, "origin": "allogeneic"},
    process={"manipulations": ["centrifugation", "filtration", "filling"]},
    function={"intended_use": "transfusion", "mechanism": ["cell_replacement"]},
)
PLATELET_RICH_PLASMA = make_card(
    "platelet-rich-plasma",
    substance={"kind": "blood_component", "cell_type": None},
    process={"manipulations": ["centrifugation", "concentration"]},
    function={"mechanism": ["regeneration_or_repair"], "homologous_use": False, "systemic_effect": False},
)
PROPHYLACTIC_MRNA = product(
    "prophylactic-mrna-vaccine",
    "nucleic_acid",
    substance=MRNA_LNP["substance"],
    process=MRNA_LNP["process"],
    function={"intended_use": "prophylactic_vaccine", "mechanism": ["immunological"]},
)
PROPHYLACTIC_PROTEIN = product(
    "prophylactic-protein-vaccine",
    "protein",
    function={"intended_use": "prophylactic_vaccine", "mechanism": ["immunological"]},
)
PROTEIN = product("recombinant-protein", "protein")
PEPTIDE = product("synthetic-peptide", "peptide", process={"manipulations": ["chemical_synthesis", "filtration"]})
SMALL_MOLECULE = product("small-molecule", "small_molecule", process={"manipulations": ["chemical_synthesis", "filtration"]})


# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def result(classify):
    """``classify`` memoised on the card's content."""
    cache: dict[str, dict] = {}

    def run(card: dict) -> dict:
        key = json.dumps(card, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = classify(card)
        return cache[key]

    return run


def criteria(r: dict) -> set[int]:
    return set(r["tianjin"]["criteria"])


def codes(r: dict) -> set[str]:
    return {b["code"] for b in r["borderline"]}


def priority_codes(r: dict) -> set[str]:
    return {c for c in codes(r) if c.startswith("priority_") or c == "unmodified_oncolytic_in_gtmp"}


def card_id(value: object) -> str | None:
    """Parameter ids: a card's id, and pytest's default for other values."""
    return value["id"] if isinstance(value, dict) else None


# ============================================================================================= 1. Tianjin criteria (T 6)


@pytest.mark.parametrize(
    ("number", "meets", "misses"),
    [
        (1, FIRST_IN_HUMAN, T_CELLS),
        (2, CAR_T, T_CELLS),
        (2, EDITED_HSC, T_CELLS),
        (4, IPSC_NEURONS, T_CELLS),
        (4, REPROGRAMMED, T_CELLS),
        (5, DC_WITH_DRUG, T_CELLS),
        (5, LIMBAL_ON_SCAFFOLD, T_CELLS),
        (8, MSC, T_CELLS),
        (9, T_CELLS, LIMBAL_ON_SCAFFOLD),
        (10, VESICLES, T_CELLS),
        (10, MITOCHONDRIA, T_CELLS),
        (10, PLATELETS, T_CELLS),
    ],
    ids=lambda v: card_id(v) or f"criterion-{v}",
)
def test_simple_criterion(result, number, meets, misses):
    assert number in criteria(result(meets))
    assert number not in criteria(result(misses))


@pytest.mark.parametrize("card", [CAR_T, AAV, MRNA_LNP, ENGINEERED_BACTERIUM, ONCOLYTIC_ENGINEERED, CAS9_PROTEIN, EPIGENETIC_PROTEIN], ids=card_id)
def test_criterion_3_recombinant_genetic_material(result, card):
    """Kind viral_vector or nucleic_acid, an engineered microbe, a genetic payload, an editing tool delivered in vivo."""
    r = result(card)
    assert 3 in criteria(r)
    assert "synthetic_oligonucleotide_criterion_3" not in codes(r)


@pytest.mark.parametrize("card", [SIRNA, ASO], ids=card_id)
def test_criterion_3_not_for_chemically_synthesised_oligonucleotides(result, card):
    r = result(card)
    assert 3 not in criteria(r)
    assert "synthetic_oligonucleotide_criterion_3" in codes(r)
    assert r["tianjin"]["subcategory"] == "non_viral_vector"  # still gene therapy under T 5(一)2


def test_criterion_3_not_for_an_editing_tool_used_ex_vivo(result):
    r = result(EDITED_HSC)
    assert 2 in criteria(r)
    assert 3 not in criteria(r)


@pytest.mark.parametrize(
    ("card", "expected"),
    [(TUMORIGENIC_T_CELLS, True), (IPSC_NEURONS, True), (IPSC_NEURONS_NOT_TUMORIGENIC, False), (T_CELLS, False)],
    ids=["explicit", "inferred-from-pluripotent", "pluripotent-but-explicitly-not", "neither"],
)
def test_criterion_6_tumorigenic_risk(result, card, expected):
    assert (6 in criteria(result(card))) is expected


@pytest.mark.parametrize(
    ("card", "met", "two_meanings"),
    [
        (T_CELLS, True, False),  # culture expansion: substantial manipulation
        (ENCAPSULATED_ISLETS, True, True),  # encapsulated cells: not minimal under T
        (RBC_CARRIER, True, True),  # encapsulated enucleated cells
        (MRNA_LNP, False, False),  # LNP encapsulation of a nucleic acid is formulation
        (WASHED_LYMPHOCYTES, False, False),  # only non-substantial steps
    ],
    ids=card_id,
)
def test_criterion_7_not_minimally_manipulated(result, card, met, two_meanings):
    r = result(card)
    assert (7 in criteria(r)) is met
    assert ("encapsulation_two_meanings" in codes(r)) is two_meanings


def test_criterion_11_minimal_and_homologous(result):
    assert 11 in criteria(result(WASHED_LYMPHOCYTES))
    assert 11 in criteria(result(FAT_GRAFT))
    assert 11 not in criteria(result(MINIMAL_NON_HOMOLOGOUS_SVF))  # non-homologous
    assert 11 not in criteria(result(T_CELLS))  # substantially manipulated


def test_criterion_12_minimal_non_homologous_without_systemic_effect(result):
    r = result(LOCAL_TISSUE_NOT_METABOLIC)
    assert {8, 12} <= criteria(r)
    assert 11 not in criteria(r)
    # A tissue relies on living-cell metabolism by default, so it has a systemic effect in the T 8(三) sense.
    assert 12 not in criteria(result(LOCAL_TISSUE_METABOLIC))
    assert 12 not in criteria(result(MINIMAL_NON_HOMOLOGOUS_SVF))


@pytest.mark.parametrize(("card", "other"), [(LOCAL_PLASMID, {3, 8}), (HOMOLOGOUS_OLIGONUCLEOTIDE, set())], ids=card_id)
def test_criteria_11_and_12_need_a_cell_based_substance(result, card, other):
    """T 8(一) defines minimal manipulation as the processing of cells (issue 33): a nucleic acid without substantial
    manipulation, used as cells meeting 11 (homologous) or 12 (non-homologous, local) would be, meets neither, nor 7;
    the borderline entry cites T 8(一), and the tier follows the other criteria."""
    r = result(card)
    assert criteria(r) == other
    assert "minimal_manipulation_is_for_cells" in codes(r)
    assert "tier_conflict_low_criterion" not in codes(r)
    entry = next(b for b in r["borderline"] if b["code"] == "minimal_manipulation_is_for_cells")
    assert "T 8(一)" in entry["source"]
    assert r["tianjin"]["risk_tier"] == ("high" if 3 in other else "low")
    # the same facts on cells (not relying on living-cell metabolism, as the nucleic acid does not) keep the low-risk criterion
    cell_twin = cells(f"{card['id']}-as-cells", process=card["process"], function={**card["function"], "depends_on_living_cell_metabolism": False})
    assert criteria(result(cell_twin)) & {11, 12}
    assert "minimal_manipulation_is_for_cells" not in codes(result(cell_twin))


def test_criterion_13_autologous_manipulated_local_never_decides_the_tier(result):
    r = result(AUTOLOGOUS_LOCAL)
    assert {7, 13} <= criteria(r)
    assert r["tianjin"]["risk_tier"] == "medium"
    assert "tier_conflict_low_criterion" in codes(r)

    high = result(AUTOLOGOUS_LOCAL_ON_SCAFFOLD)
    assert {5, 7, 13} <= criteria(high)
    assert high["tianjin"]["risk_tier"] == "high"
    assert "tier_conflict_low_criterion" in codes(high)


@pytest.mark.parametrize("card", [ALLOGENEIC_LOCAL, AUTOLOGOUS_LOCAL_METABOLIC], ids=["allogeneic", "relies-on-living-cell-metabolism"])
def test_criterion_13_contrast(result, card):
    r = result(card)
    assert 7 in criteria(r)
    assert 13 not in criteria(r)
    assert "tier_conflict_low_criterion" not in codes(r)


@pytest.mark.parametrize("card", [T_CELLS, FIRST_IN_HUMAN, FAT_GRAFT, LOCAL_TISSUE_NOT_METABOLIC, AUTOLOGOUS_LOCAL, BONE_MARROW, VESICLES], ids=card_id)
def test_criterion_14_is_never_derived_from_a_card(result, card):
    assert 14 not in criteria(result(card))


# ============================================================================================= 2. tier precedence (T 6 综合判定)


@pytest.mark.parametrize(
    ("card", "tier"),
    [
        (FIRST_IN_HUMAN, "high"),  # 1 beside 7, 9
        (IPSC_NEURONS, "high"),  # 4, 6 beside 7, 8
        (T_CELLS, "medium"),  # 7, 9
        (MINIMAL_NON_HOMOLOGOUS_SVF, "medium"),  # 8 alone
        (WASHED_LYMPHOCYTES, "medium"),  # 9 beats 11
        (LOCAL_TISSUE_NOT_METABOLIC, "medium"),  # 8 beats 12
        (FAT_GRAFT, "low"),  # 11 alone
    ],
    ids=card_id,
)
def test_tier_precedence(result, card, tier):
    r = result(card)
    found = criteria(r)
    expected = "high" if found & set(range(1, 7)) else "medium" if found & set(range(7, 11)) else "low"
    assert r["tianjin"]["risk_tier"] == expected == tier
    low_beside_higher = bool(found & {11, 12, 13}) and tier != "low"
    assert ("tier_conflict_low_criterion" in codes(r)) is low_beside_higher


# ============================================================================================= 3. NMPA subclasses


@pytest.mark.parametrize(
    ("card", "nmpa_class", "subclass"),
    [
        (T_CELLS, "CTMP", "non_genetically_modified_ctmp"),
        (CAR_T, "CTMP", "ex_vivo_genetically_modified_ctmp"),
        (MRNA_LNP, "GTMP", "nucleic_acid_gtmp"),
        (AAV, "GTMP", "viral_vector_gtmp"),
        (ONCOLYTIC_ENGINEERED, "GTMP", "oncolytic_microorganism_gtmp"),
        (EDITING_LNP, "GTMP", "gene_editing_gtmp"),
        (EPIGENETIC_LNP, "GTMP", "nucleic_acid_gtmp"),  # expression, not sequence: not gene editing (N 129-131, 469-473)
        (EPIGENETIC_AAV, "GTMP", "viral_vector_gtmp"),
        (ENGINEERED_CARTILAGE, "OTHER", "tissue_engineered"),
        (NEOANTIGEN_PEPTIDE, "OTHER", "neoantigen"),
        (RBC_CARRIER, "OTHER", "novel_delivery_system"),
        (VESICLES, "OTHER", "cell_derivative"),
        (ENGINEERED_BACTERIUM, "OTHER", "emerging_microorganism"),
    ],
    ids=card_id,
)
def test_nmpa_subclass(result, card, nmpa_class, subclass):
    r = result(card)
    assert r["atmp"] is True
    assert r["exclusion"] is None
    assert r["nmpa"] == {"class": nmpa_class, "subclass": subclass}


# ============================================================================================= 4. exclusions (decision 5)


@pytest.mark.parametrize(
    ("card", "exclusion"),
    [
        (IVF_EMBRYO, "reproductive_cells_or_embryos"),  # even though cultured
        (RED_CELLS_FOR_TRANSFUSION, "blood_component_for_transfusion"),
        (PROPHYLACTIC_MRNA, "prophylactic_vaccine"),
        (PROPHYLACTIC_PROTEIN, "prophylactic_vaccine"),  # before not_an_advanced_therapy
        (BONE_MARROW, "donated_for_transplantation"),  # before no_substantial_manipulation
        (WASHED_LYMPHOCYTES, "no_substantial_manipulation"),
        (FAT_GRAFT, "no_substantial_manipulation"),  # before mechanical_mode_of_action
        (ENCAPSULATED_ISLETS, "no_substantial_manipulation"),  # encapsulation is not substantial under N
        (PLATELET_RICH_PLASMA, "no_substantial_manipulation"),  # blood component, whatever its use
        (MECHANICAL_CHONDROCYTES, "mechanical_mode_of_action"),
        (PROTEIN, "not_an_advanced_therapy"),
        (PEPTIDE, "not_an_advanced_therapy"),
        (SMALL_MOLECULE, "not_an_advanced_therapy"),
        (APTAMER, "not_an_advanced_therapy"),  # acts outside cells, changes no gene (N 92-95, 105-107)
    ],
    ids=card_id,
)
def test_exclusion(result, card, exclusion):
    r = result(card)
    assert r["atmp"] is False
    assert r["exclusion"] == exclusion
    assert r["nmpa"] == {"class": None, "subclass": None}


@pytest.mark.parametrize(
    ("card", "subclass"),
    [
        (BONE_MARROW_DIGESTED, "non_genetically_modified_ctmp"),  # enzymatic digestion is substantial
        (MECHANICAL_AND_REGENERATIVE_CHONDROCYTES, "non_genetically_modified_ctmp"),  # not only mechanical
        (CAS9_PROTEIN, "gene_editing_gtmp"),  # a protein delivering an editing tool
        (EPIGENETIC_PROTEIN, "nucleic_acid_gtmp"),  # a protein delivering an epigenetic editor (N 92-95, 345-348)
        (NEOANTIGEN_PEPTIDE, "neoantigen"),  # a peptide based on neoantigens
    ],
    ids=card_id,
)
def test_exclusion_contrast_stays_atmp(result, card, subclass):
    r = result(card)
    assert r["atmp"] is True
    assert r["exclusion"] is None
    assert r["nmpa"]["subclass"] == subclass


def test_minimal_non_homologous_cells_stay_atmp(result):
    r = result(MINIMAL_NON_HOMOLOGOUS_SVF)
    assert r["atmp"] is True
    assert r["exclusion"] is None
    assert r["nmpa"]["subclass"] == "non_genetically_modified_ctmp"
    assert "minimal_non_homologous_stays_atmp" in codes(r)
    assert "minimal_non_homologous_stays_atmp" not in codes(result(WASHED_LYMPHOCYTES))


# ============================================================================================= 5. priority rules (N 185-433)


@pytest.mark.parametrize(
    ("card", "subclass", "code"),
    [
        (NEOANTIGEN_DC, "neoantigen", "priority_neoantigen"),
        (NEOANTIGEN_MRNA, "neoantigen", "priority_neoantigen"),
        (CAR_T, "ex_vivo_genetically_modified_ctmp", "priority_ex_vivo_ctmp_over_gtmp"),
        (LIMBAL_ON_SCAFFOLD, "non_genetically_modified_ctmp", "priority_ctmp_over_tissue_engineered"),
        (ONCOLYTIC_TRANSGENE, "oncolytic_microorganism_gtmp", "priority_oncolytic"),
        (WILD_TYPE_ONCOLYTIC, "oncolytic_microorganism_gtmp", "unmodified_oncolytic_in_gtmp"),
        (ENGINEERED_BACTERIUM, "emerging_microorganism", "priority_emerging_microorganism"),
        (EDITING_LNP, "gene_editing_gtmp", "priority_gene_editing"),
        (EPIGENETIC_LNP, "nucleic_acid_gtmp", "epigenetic_editor_not_gene_editing"),
        (EPIGENETIC_AAV, "viral_vector_gtmp", "epigenetic_editor_not_gene_editing"),
        (VESICLES_WITH_RNA, "nucleic_acid_gtmp", "priority_genetic_material_is_gtmp"),
        (MSC_CARRYING_DRUG, "novel_delivery_system", "priority_novel_delivery_over_ctmp"),
        (RBC_CARRIER, "novel_delivery_system", "priority_novel_delivery_over_ctmp"),
        (VESICLES_WITH_PROTEIN, "novel_delivery_system", "priority_novel_delivery_over_cell_derivative"),
    ],
    ids=card_id,
)
def test_priority_rule(result, card, subclass, code):
    r = result(card)
    assert r["atmp"] is True
    assert r["nmpa"]["subclass"] == subclass
    assert code in codes(r)


@pytest.mark.parametrize("card", [T_CELLS, AAV, MRNA_LNP, ONCOLYTIC_ENGINEERED, VESICLES, NEOANTIGEN_PEPTIDE], ids=card_id)
def test_single_class_carries_no_priority_borderline(result, card):
    assert priority_codes(result(card)) == set()


# ============================================================================================= 6. Tianjin scope (decisions 3, 4, 6)


@pytest.mark.parametrize("card", [BONE_MARROW, WASHED_LYMPHOCYTES, FAT_GRAFT, MECHANICAL_CHONDROCYTES], ids=card_id)
def test_excluded_by_n_but_graded_by_t(result, card):
    r = result(card)
    assert r["atmp"] is False
    assert r["tianjin"]["category"] == "cell_therapy"
    assert r["tianjin"]["risk_tier"] is not None
    assert "excluded_by_n_graded_by_t" in codes(r)


@pytest.mark.parametrize(
    "card",
    [IVF_EMBRYO, RED_CELLS_FOR_TRANSFUSION, PROPHYLACTIC_MRNA, PLATELET_RICH_PLASMA, PROTEIN, APTAMER],
    ids=card_id,
)
def test_other_exclusions_are_not_graded_by_t(result, card):
    r = result(card)
    assert r["atmp"] is False
    assert r["tianjin"] == {"category": None, "subcategory": None, "risk_tier": None, "criteria": []}
    assert "excluded_by_n_graded_by_t" not in codes(r)


def test_non_gene_non_cell_atmp_is_not_graded_by_t(result):
    r = result(NEOANTIGEN_PEPTIDE)
    assert r["atmp"] is True
    assert r["tianjin"] == {"category": None, "subcategory": None, "risk_tier": None, "criteria": []}


def test_xenogeneic_cells_are_outside_tianjin_scope(result):
    r = result(XENOGENEIC_ISLETS)
    assert r["nmpa"]["class"] == "CTMP"
    assert r["tianjin"] == {"category": None, "subcategory": None, "risk_tier": None, "criteria": []}
    assert "xenogeneic_outside_tianjin" in codes(r)

    human = result(ALLOGENEIC_ISLETS)
    assert human["tianjin"]["category"] == "cell_therapy"
    assert human["tianjin"]["risk_tier"] == "medium"
    assert "xenogeneic_outside_tianjin" not in codes(human)


@pytest.mark.parametrize(
    ("card", "category", "subcategory"),
    [
        (T_CELLS, "cell_therapy", "immune_cell"),
        (IPSC_NK, "cell_therapy", "immune_cell"),  # immune even when pluripotent-derived
        (MSC, "cell_therapy", "stem_cell"),
        (EDITED_HSC, "cell_therapy", "stem_cell"),
        (IPSC_NEURONS, "cell_therapy", "stem_cell"),  # pluripotent-derived non-immune cells
        (AUTOLOGOUS_LOCAL, "cell_therapy", "other_cell_and_derivative"),
        (ENGINEERED_CARTILAGE, "cell_therapy", "other_cell_and_derivative"),
        (VESICLES, "cell_therapy", "other_cell_and_derivative"),
        (RBC_CARRIER, "cell_therapy", "other_cell_and_derivative"),
        (AAV, "gene_therapy", "viral_vector"),
        (ONCOLYTIC_ENGINEERED, "gene_therapy", "viral_vector"),
        (MRNA_LNP, "gene_therapy", "non_viral_vector"),
        (ENGINEERED_BACTERIUM, "gene_therapy", "other_gene_therapy"),
        (CAS9_PROTEIN, "gene_therapy", "other_gene_therapy"),
        (EPIGENETIC_PROTEIN, "gene_therapy", "other_gene_therapy"),
        (EPIGENETIC_LNP, "gene_therapy", "non_viral_vector"),
        (WILD_TYPE_ONCOLYTIC, "gene_therapy", "other_gene_therapy"),
    ],
    ids=card_id,
)
def test_tianjin_subcategory(result, card, category, subcategory):
    t = result(card)["tianjin"]
    assert (t["category"], t["subcategory"]) == (category, subcategory)
