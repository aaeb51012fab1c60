"""The catalogue and the knowledge graph built from it: provenance, named graphs, inferred triples, export."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter

import pyoxigraph as ox
import pytest
from atmp.core.card.facts import card_facts
from atmp.core.card.schema import CardError
from atmp.core.classify import evaluator_for
from atmp.core.result.validate import data_graph
from atmp.core.rules.ontology import load_model
from atmp.kg.catalogue import catalogue_file, check_provenance, load_catalogue, load_vocabulary
from atmp.kg.store import KnowledgeGraph
from atmp.kg.terms import GRAPHS, KG_NS

from .kg_support import catalogue_cards, catalogue_graph

ATMP_CLI = [sys.executable, "-m", "atmp.cli"]
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return catalogue_graph()


@pytest.fixture(scope="module")
def cards() -> list[dict]:
    return list(catalogue_cards())


def product(card_id: str) -> ox.NamedNode:
    return ox.NamedNode("https://w3id.org/atmp-kg/product/" + card_id)


def objects(kg: KnowledgeGraph, s, p, graph: str) -> set:
    return {q.object for q in kg.store.quads_for_pattern(s, p, None, GRAPHS[graph])}


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_has_at_least_60_real_products_with_sources(cards):
    assert len(cards) >= 60
    assert len({c["id"] for c in cards}) == len(cards)
    for card in cards:
        prov = card["provenance"]
        assert prov["source"].strip(), card["id"]
        assert card["label"].get("en"), card["id"]


def test_catalogue_covers_the_product_families_the_issue_names(cards):
    def ids(pred) -> set[str]:
        return {c["id"] for c in cards if pred(c)}

    nmpa = lambda c: c["provenance"]["agency"] == "NMPA" or any(a["agency"] == "NMPA" for a in c["provenance"].get("approvals", []))  # noqa: E731
    car_t_china = ids(lambda c: nmpa(c) and c["substance"].get("cell_type") == "t_cell" and "genetic_modification" in c["process"]["manipulations"])
    assert len(car_t_china) >= 6  # Yikaida, Carteyva, Fucaso, CNCT19, Zevor-cel, Carvykti
    assert {"gendicine", "h101-oncorine"} <= ids(nmpa)
    assert len(ids(lambda c: c["substance"].get("cell_type") == "mesenchymal_stromal_cell")) >= 4
    assert "amimestrocel" in ids(nmpa)
    assert len(ids(lambda c: c["process"].get("combined_with") and c["substance"]["kind"] in ("cells", "tissue"))) >= 4  # tissue-engineered
    assert len(ids(lambda c: c["substance"].get("nucleic_acid") in ("sirna", "antisense_oligonucleotide"))) >= 6
    assert ids(lambda c: c["substance"]["kind"] == "extracellular_vesicles" and c["provenance"]["status"] == "investigational")
    assert ids(lambda c: c["substance"]["kind"] in ("bacterium", "bacteriophage") and c["provenance"]["status"] == "investigational")
    assert len(ids(lambda c: c["provenance"]["agency"] in ("FDA", "EMA") and c["provenance"]["status"] == "approved")) >= 30


def test_investigational_products_are_marked_and_have_no_approval(cards):
    investigational = [c for c in cards if c["provenance"]["status"] == "investigational"]
    assert len(investigational) >= 10
    for card in investigational:
        assert card["provenance"]["agency"] == "none" and not card["provenance"].get("approvals"), card["id"]
    for card in cards:
        if card["provenance"]["status"] in ("approved", "withdrawn"):
            assert card["provenance"]["agency"] != "none" and card["provenance"]["year"], card["id"]


def test_products_approved_in_china_carry_their_chinese_name(cards):
    for card in cards:
        prov = card["provenance"]
        if prov["agency"] == "NMPA" or prov.get("country") == "CN" or any(a["agency"] == "NMPA" for a in prov.get("approvals", [])):
            assert card["label"].get("zh"), card["id"]


def test_catalogue_file_loads_through_the_contract_loader():
    from atmp.core.card.schema import parse_cards

    cards, was_array = parse_cards(catalogue_file().read_bytes())  # provenance is an extra top-level key the schema allows
    assert was_array and len(cards) == len(load_catalogue())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c.pop("provenance"), "[0].provenance"),
        (lambda c: c["provenance"].update(source=" "), "[0].provenance.source"),
        (lambda c: c["provenance"].update(status="marketed"), "[0].provenance.status"),
        (lambda c: c["provenance"].update(agency="XYZ"), "[0].provenance.agency"),
        (lambda c: c["provenance"].update(agency="none"), "[0].provenance.agency"),
        (lambda c: c["provenance"].update(year="2021"), "[0].provenance.year"),
        (lambda c: c["provenance"].update(url="javascript:alert(1)"), "[0].provenance.url"),
        (lambda c: c["provenance"].update(approvals=[{"agency": "NMPA", "year": 2024}]), "[0].provenance.approvals[0].source"),
    ],
)
def test_bad_provenance_is_refused_naming_the_field(cards, change, field):
    card = copy.deepcopy(cards[0])
    change(card)
    with pytest.raises(CardError) as err:
        check_provenance(card, load_vocabulary(), 0)
    assert str(err.value).startswith(field + ":")


# --------------------------------------------------------------------------- the graph


def test_three_named_graphs_and_nothing_else(kg):
    names = set(kg.store.named_graphs())
    assert names == set(GRAPHS.values())
    assert not list(kg.store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    counts = kg.counts()
    assert all(n > 0 for n in counts.values())
    assert kg.info.quads == counts and kg.info.cards == len(kg.cards)


def test_ontology_graph_holds_the_ontology_and_the_vocabulary(kg):
    model = load_model()
    vocab = load_vocabulary()
    assert kg.counts()["ontology"] == len(model.graph) + len(set(vocab.triples))
    assert ox.NamedNode(KG_NS + "agency_NMPA") in {q.subject for q in kg.store.quads_for_pattern(None, None, None, GRAPHS["ontology"])}


def test_asserted_graph_holds_the_card_facts_labels_and_provenance(kg, cards):
    model = load_model()
    facts = data_graph(model, cards)
    asserted = kg.store.quads_for_pattern(None, None, None, GRAPHS["asserted"])
    asserted_triples = {(str(q.subject), str(q.predicate), str(q.object)) for q in asserted}
    expected = {(f"<{s}>", f"<{p}>", o.n3()) for s, p, o in facts}
    assert expected <= asserted_triples
    gendicine = product("gendicine")
    labels = {(lit.language, lit.value) for lit in objects(kg, gendicine, RDFS_LABEL, "asserted")}
    assert ("zh", "重组人p53腺病毒注射液（今又生）") in labels and any(lang == "en" for lang, _ in labels)
    approvals = objects(kg, gendicine, ox.NamedNode(KG_NS + "approval"), "asserted")
    assert len(approvals) == 1
    (approval,) = approvals
    assert objects(kg, approval, ox.NamedNode(KG_NS + "year"), "asserted") == {ox.Literal(2003)}
    assert objects(kg, approval, ox.NamedNode(KG_NS + "agency"), "asserted") == {ox.NamedNode(KG_NS + "agency_NMPA")}


def test_inferred_types_are_exactly_the_result_classes_each_product_belongs_to(kg, cards):
    """Computed independently: the compiled evaluator asked, class by class, whether the product is a member."""
    model = load_model()
    ev = evaluator_for(model)
    result_iris = {ox.NamedNode(str(rc.iri)) for rc in model.result_classes}
    for card in cards:
        ctx = ev.product_context(card_facts(model, card))
        expected = {ox.NamedNode(str(rc.iri)) for rc in model.result_classes if ctx.member(rc.iri)}
        inferred = objects(kg, product(card["id"]), RDF_TYPE, "inferred") & result_iris
        assert inferred == expected, card["id"]
        assert objects(kg, product(card["id"]), RDF_TYPE, "inferred") <= result_iris


def test_explanations_are_resources_with_conclusion_rule_and_source(kg):
    result = kg.results["h101-oncorine"]
    rows = kg.query("""
        PREFIX kg: <https://w3id.org/atmp-kg/kg/>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        SELECT ?order ?conclusion ?source ?isClass WHERE {
          <https://w3id.org/atmp-kg/product/h101-oncorine> kg:explanation ?e .
          ?e kg:order ?order ; kg:conclusion ?conclusion ; dcterms:source ?source ; kg:rule ?rule .
          BIND(EXISTS { ?rule a owl:Class } AS ?isClass)
        } ORDER BY ?order""").records()
    assert [r["conclusion"] for r in rows] == [e["conclusion"] for e in result["explanation"]]
    assert [r["source"] for r in rows] == [e["source"] for e in result["explanation"]]
    assert all(r["isClass"] for r in rows)
    assert "nmpa.subclass = oncolytic_microorganism_gtmp" in [r["conclusion"] for r in rows]
    reasons = kg.query("""
        PREFIX kg: <https://w3id.org/atmp-kg/kg/>
        SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?e kg:because ?r . ?r a kg:Reason }""").records()
    assert reasons[0]["n"] > 0


def test_borderline_entries_and_conformance_are_in_the_inferred_graph(kg):
    for card_id, result in kg.results.items():
        codes = {
            lit.value for e in objects(kg, product(card_id), ox.NamedNode(KG_NS + "borderline"), "inferred") for lit in objects(kg, e, ox.NamedNode(KG_NS + "code"), "inferred")
        }
        assert codes == {b["code"] for b in result["borderline"]}, card_id
        assert objects(kg, product(card_id), ox.NamedNode(KG_NS + "conforms"), "inferred") == {ox.Literal(result["conforms"])}


def test_shared_graph_is_built_once(kg):
    from atmp.kg.store import shared_graph

    assert shared_graph() is shared_graph() is kg
    assert [p["id"] for p in kg.products()] == [c["id"] for c in kg.cards]
    assert kg.products()[0]["result"]["id"] == kg.cards[0]["id"]


def test_query_api_binds_terms_and_is_read_only(kg):
    before = len(kg.store)
    res = kg.query("PREFIX atmp: <https://w3id.org/atmp-kg/ontology/> SELECT ?id WHERE { ?p atmp:cardId ?id }", {"id": ox.Literal("gendicine")})
    assert res.column("id") == ["gendicine"]
    from atmp.kg.terms import KGError

    with pytest.raises(KGError):
        kg.query("DROP ALL")
    assert len(kg.store) == before


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["trig", "nq", "turtle", "nt"])
def test_export_round_trips(kg, fmt):
    data = kg.serialize(fmt)
    rdf_format = {"trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS, "turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES}[fmt]
    parsed = list(ox.parse(data, format=rdf_format))
    if fmt in ("trig", "nq"):
        assert Counter(q.graph_name for q in parsed) == Counter({GRAPHS[n]: c for n, c in kg.counts().items()})
    else:
        assert len(parsed) == len({q.triple for q in kg.quads()})


def test_export_one_graph(kg):
    parsed = list(ox.parse(kg.serialize("nt", "inferred"), format=ox.RdfFormat.N_TRIPLES))
    assert len(parsed) == kg.counts()["inferred"]


def test_cli_export_then_query_the_exported_dataset(tmp_path):
    out = tmp_path / "atmp.trig"
    proc = subprocess.run([*ATMP_CLI, "export", "--format", "trig", "-o", str(out)], capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0 and b"wrote" in proc.stderr
    proc = subprocess.run([*ATMP_CLI, "query", "approvals-by-year", "--data", str(out), "--format", "json", "--param", "year=2003"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["results"]["bindings"]
    assert [r["product"]["value"] for r in rows] == ["https://w3id.org/atmp-kg/product/gendicine"]
    adhoc = tmp_path / "count.rq"  # an ad-hoc file needs no header
    adhoc.write_text("PREFIX atmp: <https://w3id.org/atmp-kg/ontology/>\nSELECT (COUNT(*) AS ?n) WHERE { ?p a atmp:Product }\n")
    proc = subprocess.run([*ATMP_CLI, "query", str(adhoc), "--data", str(out), "--format", "csv"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == ["n", str(len(load_catalogue()))]


def test_cli_export_rejects_an_unknown_format():
    proc = subprocess.run([*ATMP_CLI, "export", "--format", "rdfxml"], capture_output=True, timeout=60)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
