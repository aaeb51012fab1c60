"""Rules, round 3 (issues 29 and 33), each held to a real product and its published decision.

The products are in ``tests/fixtures/round3-products.json`` (cards with ``provenance``: the decision or source each
test cites) or in the catalogue. Every product is classified by warm HermiT and the compiled engine (the ``classify``
fixture requires them to agree). Each test checks the N and T answers, the EU/US/JP blocks and that the full
explanation cites the rule that decides.
"""

from __future__ import annotations

import copy
import json

import pytest
from atmp.core.classify import classify_cards
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import load_model
from atmp.core.rules.resources import catalogue_file, ontology_file
from rdflib import OWL, Graph
from rdflib.collection import Collection

from .conftest import FIXTURES, load_cases

PRODUCTS = {c["id"]: c for c in json.loads((FIXTURES / "round3-products.json").read_text(encoding="utf-8"))}
CATALOGUE = {c["id"]: c for c in json.loads(catalogue_file().read_text(encoding="utf-8"))}


def card(product_id: str) -> dict:
    """The card of a fixture or catalogue product, without its provenance (which classification does not read)."""
    c = copy.deepcopy(PRODUCTS.get(product_id) or CATALOGUE[product_id])
    c.pop("provenance", None)
    return c


@pytest.fixture(scope="module")
def result(classify):
    cache: dict[str, dict] = {}

    def run(product_id: str) -> dict:
        if product_id not in cache:
            cache[product_id] = classify(card(product_id))
        return cache[product_id]

    return run


def codes(entries: list[dict]) -> set[str]:
    return {e["code"] for e in entries}


def concluding(r: dict, conclusion: str, block: str | None = None) -> dict:
    """The full explanation's entry for ``conclusion`` (top level, or in the ``eu``/``us``/``jp`` block)."""
    entries = r[block]["explanation"] if block else r["explanation"]
    return next(e for e in entries if e["conclusion"] == conclusion)


def cites(entry: dict, rule: str, source: str) -> bool:
    """The entry names ``rule`` as holding, with ``source`` among its citations (the entry's own or a reason's)."""
    if entry.get("rule") == rule and source in entry.get("source", ""):
        return True
    return any(b.get("rule") == rule and b.get("holds") is True and source in b.get("source", "") for b in entry["because"])


# ============================================================================ 29.1 PRP under the Japanese ASRM


def test_intra_articular_prp_is_asrm_class_ii(result):
    """Intra-articular autologous PRP: registered as ASRM Class II (plan numbers PB…, shared/research/crosswalk-rules.md
    §3.2; MHLW notice 医政研発1031第1号: centrifuged blood into a joint is not homologous use). N: a blood component with no
    substantial manipulation is no ATMP (N 47-48, decision 5); T does not grade blood components (decision 3); EU: SoHO,
    not an ATMP; US: a blood component, not an HCT/P; PMD Act: not a regenerative medical product."""
    r = result("prp-knee-intra-articular")
    assert (r["atmp"], r["exclusion"], r["nmpa"]["subclass"]) == (False, "no_substantial_manipulation", None)
    assert r["tianjin"] == {"category": None, "subcategory": None, "risk_tier": None, "criteria": []}
    assert (r["eu"]["atmp"], r["eu"]["class"]) == (False, None)
    assert r["us"]["pathway"] == "not_hct_p"
    assert (r["jp"]["asrm_class"], r["jp"]["regenerative_medical_product"]) == ("II", False)
    # the 2025 exclusion of device-prepared PRP used within the device's approval cannot be stated on the card,
    # nor whether the blood component still holds cells (a cell-free serum would be outside ASRM)
    assert codes(r["jp"]["borderline"]) == {"jp_device_prepared_within_approval", "jp_cell_free_blood_fraction"}
    entry = concluding(r, "jp.asrm_class = II", "jp")
    assert cites(entry, "JpAsrmClassII", "ASRM Art 2(6)")
    assert cites(entry, "JpProcessedBloodComponent", "MHLW notice 医政研発1031第1号")
    assert "crosswalk" not in r or not r["crosswalk"]


def test_skin_prp_is_asrm_class_iii(result):
    """Skin and soft-tissue autologous PRP: registered as ASRM Class III (plan numbers PC…); the notice counts
    centrifuged blood into the skin or oral cavity as homologous use."""
    r = result("prp-skin-soft-tissue")
    assert r["exclusion"] == "no_substantial_manipulation"
    assert (r["jp"]["asrm_class"], r["jp"]["regenerative_medical_product"]) == ("III", False)
    assert "jp_device_prepared_within_approval" in codes(r["jp"]["borderline"])
    assert cites(concluding(r, "jp.asrm_class = III", "jp"), "JpProcessedBloodComponent", "ASRM Art 2(4)")


def test_a_cell_free_blood_fraction_is_named_as_outside_asrm(result):
    """Autologous serum eye drops (catalogue): the card's blood component cannot say that serum holds no cells, so the
    ASRM class it gets as a blood component comes with the entry that a cell-free fraction is no processed cell;
    platelets, which are cells, do not get it."""
    r = result("autologous-serum-eye-drops")
    assert r["jp"]["asrm_class"] is not None and "jp_cell_free_blood_fraction" in codes(r["jp"]["borderline"])
    assert "jp_cell_free_blood_fraction" not in codes(result("cat-in-vitro-derived-platelets")["jp"]["borderline"])


def test_blood_for_transfusion_stays_outside_asrm(result):
    """Leukoreduced red cells for transfusion (catalogue; GB 18469-2012): Cabinet Order Art 1(1)(イ) excludes transfusion
    of blood cells whose properties were not altered."""
    r = result("leukoreduced-red-cells")
    assert r["exclusion"] == "blood_component_for_transfusion"
    assert r["jp"]["asrm_class"] is None and r["jp"]["regenerative_medical_product"] is False
    assert not r["jp"]["borderline"]


def test_allogeneic_or_activated_prp(classify):
    """ASRM's Class I item for cells of another person applies to allogeneic blood cells too; PRP activated ex vivo
    (a 加工 step) is no longer point-of-care separation, so the device exclusion is not suggested."""
    allogeneic = card("prp-knee-intra-articular") | {"id": "allogeneic-prp"}
    allogeneic["substance"] = allogeneic["substance"] | {"origin": "allogeneic"}
    assert classify(allogeneic)["jp"]["asrm_class"] == "I"
    activated = card("prp-skin-soft-tissue") | {"id": "activated-prp"}
    activated["process"] = {"manipulations": ["centrifugation", "activation"], "combined_with": []}
    r = classify(activated)
    assert r["jp"]["asrm_class"] == "III" and codes(r["jp"]["borderline"]) == {"jp_cell_free_blood_fraction"}


# ============================================================================ 29.2 epigenetic editors


def test_epigenetic_silencer_is_a_nucleic_acid_gtmp(result):
    """TUNE-401 (Tune Therapeutics; first-in-human trial cleared in New Zealand and Hong Kong, 2024): LNP carrying the
    mRNA of a dCas-based DNA-methylation silencer of hepatitis B virus DNA. It changes expression, not sequence: N
    defines gene editing as site-specific modification of the sequence (N 129-131, 469-473) and gene silencing is a
    nucleic-acid GTMP (N 105-110, 345-348); with ``other`` as its tool it was a gene-editing GTMP."""
    r = result("tune-401")
    assert (r["atmp"], r["nmpa"]) == (True, {"class": "GTMP", "subclass": "nucleic_acid_gtmp"})
    assert (r["tianjin"]["category"], r["tianjin"]["subcategory"], r["tianjin"]["risk_tier"]) == ("gene_therapy", "non_viral_vector", "high")
    assert r["tianjin"]["criteria"] == [3, 8, 9]
    entry = next(b for b in r["borderline"] if b["code"] == "epigenetic_editor_not_gene_editing")
    assert "nucleic-acid" in entry["message"]["en"] and "gene-editing GTMP" in entry["message"]["en"]  # both readings
    assert all(s in entry["source"] for s in ("N 92-95", "124-131", "345-348", "469-473")) and "N 129-131" in entry["message"]["en"]
    assert (r["eu"]["atmp"], r["eu"]["class"]) == (True, "GTMP")
    assert (r["us"]["pathway"], r["us"]["gene_therapy"]) == ("351_bla", True)  # FDA: modifies the expression of a gene
    assert (r["jp"]["asrm_class"], r["jp"]["regenerative_medical_product"]) == ("I", True)  # 核酸等, 2025 extension
    assert cites(concluding(r, "nmpa.subclass = nucleic_acid_gtmp"), "InVivoEpigeneticEditingProduct", "N 92-95")
    assert cites(concluding(r, "borderline: epigenetic_editor_not_gene_editing"), "EpigeneticEditorNotGeneEditing", "469-473")


def test_a_sequence_editor_on_the_same_card_stays_gene_editing(classify):
    """The contrast: the same LNP with a nuclease, or with ``other`` (now defined as another sequence editor),
    is a gene-editing GTMP as NTLA-2001 is (catalogue: nexiguran-ziclumeran)."""
    for tool in ("crispr_cas", "other"):
        c = card("tune-401")
        c["id"], c["substance"]["gene_editing_tool"] = f"tune-401-{tool}", tool
        r = classify(c)
        assert r["nmpa"]["subclass"] == "gene_editing_gtmp"
        assert "epigenetic_editor_not_gene_editing" not in codes(r["borderline"])


# ============================================================================ 29.3 aptamers and other nucleic acids acting outside cells


@pytest.mark.parametrize("product_id", ["pegaptanib", "avacincaptad-pegol"])
def test_aptamer_is_not_an_advanced_therapy(result, product_id):
    """Pegaptanib (FDA NDA 21-756, 2004; EMA 2006 as an ordinary medicine; Japan 2008 as a drug) and avacincaptad pegol
    (FDA NDA 217225, 2023): RNA aptamers binding VEGF165 and complement C5 outside cells. No gene sequence or
    expression changes (N 92-95), no action after entering cells (N 105-107): not an ATMP; T does not grade it."""
    r = result(product_id)
    assert (r["atmp"], r["exclusion"], r["nmpa"]) == (False, "not_an_advanced_therapy", {"class": None, "subclass": None})
    assert r["tianjin"] == {"category": None, "subcategory": None, "risk_tier": None, "criteria": []}
    assert r["conforms"] is True and r["violations"] == []  # payload none is coherent for an aptamer
    assert codes(r["borderline"]) == {"nucleic_acid_acting_outside_cells"}
    assert (r["eu"]["atmp"], r["eu"]["class"]) == (False, None)
    assert (r["us"]["pathway"], r["us"]["gene_therapy"]) == ("nda", False)
    assert (r["jp"]["asrm_class"], r["jp"]["regenerative_medical_product"]) == (None, False)
    assert not r.get("crosswalk")
    assert cites(concluding(r, "exclusion = not_an_advanced_therapy"), "NucleicAcidActingOutsideCellsProduct", "N 92-95, 105-107")


def test_an_aptamer_named_as_genetic_material_gets_the_same_answer(classify, result):
    """A card that calls the aptamer genetic material decides the same way: the nucleic-acid type decides."""
    c = card("pegaptanib")
    c["id"], c["substance"]["payload"] = "pegaptanib-as-genetic-material", "genetic_material"
    r, ref = classify(c), result("pegaptanib")
    for key in ("atmp", "exclusion", "nmpa", "tianjin"):
        assert r[key] == ref[key]
    assert (r["us"]["pathway"], r["eu"]["atmp"], r["jp"]["asrm_class"]) == ("nda", False, None)


def test_only_an_aptamer_may_go_without_a_genetic_payload(classify):
    c = card("pegaptanib")
    c["id"], c["substance"]["nucleic_acid"] = "antisense-without-genetic-payload", "antisense_oligonucleotide"
    r = classify(c)
    assert r["conforms"] is False and "nucleic_acid_needs_genetic_payload" in {v.get("code") for v in r["violations"]}


SYNTHETIC = sorted(i for i, c in CATALOGUE.items() if c["substance"].get("nucleic_acid") in ("sirna", "antisense_oligonucleotide"))


@pytest.mark.parametrize("product_id", SYNTHETIC)
def test_sirna_and_antisense_keep_their_answers(result, product_id):
    """Nusinersen, patisiran, inclisiran, fomivirsen…: still nucleic-acid GTMPs under N (N 105-110), and every
    published agency decision in the catalogue (FDA NDA, EMA not an ATMP, PMDA drug) is still reproduced."""
    r = result(product_id)
    assert r["nmpa"] == {"class": "GTMP", "subclass": "nucleic_acid_gtmp"}
    assert "nucleic_acid_acting_outside_cells" not in codes(r["borderline"])
    for decision in CATALOGUE[product_id]["provenance"].get("decisions", []):
        block, field = decision["field"].split(".", 1)
        assert r[block][field] == decision["value"], decision


# ============================================================================ 33 criteria 11 and 12 are about processed cells


def test_fomivirsen_loses_criterion_12_not_its_tier(result):
    """Fomivirsen (Vitravene; FDA NDA 1998): a chemically synthesised antisense oligonucleotide injected into the eye.
    T 8(一) defines minimal manipulation for the processing of cells: criterion 12 is not met, the tier stays medium
    (criterion 8), and the borderline entry cites T 8(一)."""
    r = result("fomivirsen")
    assert r["tianjin"]["criteria"] == [8] and r["tianjin"]["risk_tier"] == "medium"
    assert {"minimal_manipulation_is_for_cells", "synthetic_oligonucleotide_criterion_3"} == codes(r["borderline"])
    assert cites(concluding(r, "borderline: minimal_manipulation_is_for_cells"), "MinimalManipulationIsForCells", "T 8(一)")
    assert r["us"]["pathway"] == "nda"


def test_local_plasmid_loses_criterion_12_not_its_tier(result):
    """Neovasculgen (pl-VEGF165; Russian authorisation 2011): plasmid DNA injected into the ischaemic limb. Criterion 3
    (recombinant DNA) keeps it high; 12 is no longer met."""
    r = result("neovasculgen")
    assert (r["nmpa"]["subclass"], r["tianjin"]["subcategory"]) == ("nucleic_acid_gtmp", "non_viral_vector")
    assert r["tianjin"]["criteria"] == [3, 8] and r["tianjin"]["risk_tier"] == "high"
    assert codes(r["borderline"]) == {"minimal_manipulation_is_for_cells"}
    assert cites(concluding(r, "borderline: minimal_manipulation_is_for_cells"), "MinimalManipulationIsForCells", "T 8(一)")


def _old_reading(tmp_path) -> Graph:
    """The rules as they were before issue 33: minimal manipulation (T sense) for any substance."""
    g = Graph().parse(ontology_file())
    members = Collection(g, g.value(g.value(ATMP.MinimallyManipulatedProduct, OWL.equivalentClass), OWL.intersectionOf))
    kept = [m for m in members if g.value(m, OWL.someValuesFrom) != ATMP.TianjinCellTherapyKind]
    assert len(kept) == len(members) - 1, "the cell-based conjunct of T 8(一) is no longer where this test looks for it"
    members.clear()
    for m in kept:
        members.append(m)
    path = tmp_path / "old-reading.ttl"
    g.serialize(path, format="turtle")
    return path


def test_only_non_cell_products_lose_only_criteria_11_and_12(tmp_path):
    """Against the old reading, on the examples, the catalogue and 600 generated cards: every product of a cell-based
    kind keeps every answer; a non-cell product can only lose criterion 11 or 12 (and with it the tier-conflict entry),
    never its tier; in the examples and the catalogue exactly fomivirsen moves."""
    from benchmarks.cardgen import generate_cards

    model, old_model = load_model(), load_model(_old_reading(tmp_path))
    cell_kinds = model.grouping("TianjinCellTherapyKind")
    cards = [c["card"] for c in load_cases()] + [card(i) for i in CATALOGUE] + generate_cards(600, seed=33)
    new, old = classify_cards(cards, model=model, explain="none"), classify_cards(cards, model=old_model, explain="none")
    moved = set()
    for c, n, o in zip(cards, new, old, strict=True):
        if c["substance"]["kind"] in cell_kinds:
            assert n == o, c["id"]
            continue
        assert n["tianjin"]["risk_tier"] == o["tianjin"]["risk_tier"], c["id"]
        lost = set(o["tianjin"]["criteria"]) - set(n["tianjin"]["criteria"])
        assert lost <= {11, 12} and set(n["tianjin"]["criteria"]) <= set(o["tianjin"]["criteria"]), c["id"]
        gone = codes(o["borderline"]) - codes(n["borderline"])
        assert gone <= {"tier_conflict_low_criterion"} and codes(n["borderline"]) <= codes(o["borderline"]), c["id"]
        if lost:
            moved.add(c["id"])
    assert {i for i in moved if not i.startswith("gen")} == {"fomivirsen"}
