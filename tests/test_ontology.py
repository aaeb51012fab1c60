"""The ontology as a Protégé user and a reasoner see it: parses, round-trips, complete inventory.

Labels, definitions, sources, the OWL 2 DL profile and satisfiability are the QC checks of ``tests/test_qc.py``."""

from __future__ import annotations

import pytest
from atmp.core.rules.ontology import ATMP, DCT
from atmp.core.rules.resources import ontology_file
from rdflib import OWL, RDF, BNode, Graph


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph().parse(ontology_file())


def _ground(g: Graph) -> set:
    return {t for t in g if not any(isinstance(x, BNode) for x in t)}


def test_turtle_round_trips_through_rdfxml_and_ntriples(graph, tmp_path):
    """Same size, same ground triples (a full bnode isomorphism check takes minutes on this graph)."""
    for fmt in ("xml", "nt"):
        path = tmp_path / f"atmp.{fmt}"
        graph.serialize(path, format=fmt, encoding="utf-8")
        back = Graph().parse(path, format=fmt)
        assert len(back) == len(graph), fmt
        assert _ground(back) == _ground(graph), fmt


def test_owlready2_reads_the_rdfxml_form(graph, tmp_path):
    import owlready2

    path = tmp_path / "atmp.owl"
    graph.serialize(path, format="xml", encoding="utf-8")
    world = owlready2.World()
    onto = world.get_ontology(path.as_uri()).load()
    assert onto.search_one(iri=str(ATMP.Criterion07Met)) is not None
    assert len(list(onto.classes())) > 150


def test_version_iri_and_seed_documents(graph):
    ont = next(graph.subjects(RDF.type, OWL.Ontology))
    assert graph.value(ont, OWL.versionIRI) is not None
    seeds = {str(graph.value(d, DCT.identifier)) for d in graph.objects(ont, DCT.references)}
    assert seeds == {"004_8badc80f587f5761.txt", "000_56a3189e2422f4ee.txt"}


def test_the_rule_inventory_is_complete(graph):
    numbers = sorted(int(n) for n in graph.objects(None, ATMP.criterionNumber))
    assert numbers == list(range(1, 15))
    by_field = {}
    for cls, fld in graph.subject_objects(ATMP.resultField):
        by_field.setdefault(str(fld), set()).add(str(graph.value(cls, ATMP.resultCode)))
    assert len(by_field["nmpa.subclass"]) == 11
    assert len(by_field["exclusion"]) == 7
    assert by_field["nmpa.class"] == {"CTMP", "GTMP", "OTHER"}
    assert by_field["tianjin.risk_tier"] == {"high", "medium", "low"}
    assert len(by_field["tianjin.subcategory"]) == 6
    # every rule that fills the result is defined, except criterion 14 (expert designation only)
    undefined = [c for c in graph.subjects(ATMP.resultField, None) if (c, OWL.equivalentClass, None) not in graph]
    assert undefined == [ATMP.Criterion14Met]


def test_card_vocabulary_matches_the_contract_schema(model):
    import json

    from atmp.core.rules.resources import schema_file

    schema = json.loads(schema_file("product-card.schema.json").read_text())
    for prop in model.properties:
        if prop.is_object:
            spec = schema["properties"][prop.section]["properties"][prop.key]
            enum = spec.get("enum") or spec["items"]["enum"]
            assert set(prop.codes) == {e for e in enum if e is not None}, prop.field


def test_owlready2_batch_run_agrees_with_warm_hermit(model):
    """The textbook owlready2 run (ABox realisation) gives the answers of the warm reasoner."""
    from atmp.core.classify import classify_cards

    from .conftest import load_cases

    # owlready2 realises all individuals together and slows sharply with their number (2 cards 15 s, 8 cards 81 s),
    # so one example per kind of answer: the first of each exclusion-or-subclass, three in all (CTMP, GTMP, excluded)
    firsts: dict[str, dict] = {}
    for case in load_cases():
        e = case["expected"]
        kind = "excluded" if e["exclusion"] else "ctmp" if any(s.endswith("ctmp") for s in e.get("nmpa_subclass") or []) else "other"
        firsts.setdefault(kind, case["card"])
    cards = list(firsts.values())
    assert len(cards) == 3
    assert classify_cards(cards, engine="owlready2", model=model) == classify_cards(cards, engine="hermit", model=model)
