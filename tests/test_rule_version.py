"""Every answer says which rules made it: results, validation reports, what-if reports and /health carry the
ontology's own ``owl:versionIRI`` and ``owl:versionInfo`` (read from the file, so an edited copy says so)."""

from __future__ import annotations

from pathlib import Path

from atmp.analysis.whatif import whatif
from atmp.core.classify import classify_cards
from atmp.core.result.validate import validate_cards
from atmp.core.rules.ontology import load_model
from atmp.core.rules.resources import ontology_file
from atmp.http.app import Settings, create_app
from fastapi.testclient import TestClient
from rdflib import OWL, RDF, Graph, Literal, URIRef

from .conftest import make_card


def _declared(path: Path) -> dict[str, str]:
    g = Graph().parse(path)
    ont = next(g.subjects(RDF.type, OWL.Ontology))
    return {"iri": str(g.value(ont, OWL.versionIRI)), "info": str(g.value(ont, OWL.versionInfo))}


def test_results_and_reports_carry_the_version_the_ontology_declares(tmp_path: Path) -> None:
    card = make_card("v")
    shipped = _declared(ontology_file())
    assert shipped["info"] and shipped["iri"].startswith("https://w3id.org/atmp-kg/ontology/")
    model = load_model(ontology_file())
    assert classify_cards([card], model=model)[0]["rule_version"] == shipped
    assert validate_cards(model, [card])[0]["rule_version"] == shipped
    assert whatif(card, model=model, max_pairs=0)["rule_version"] == shipped

    g = Graph().parse(ontology_file())
    ont = next(g.subjects(RDF.type, OWL.Ontology))
    g.set((ont, OWL.versionIRI, URIRef("https://w3id.org/atmp-kg/ontology/releases/9.9.9/atmp.ttl")))
    g.set((ont, OWL.versionInfo, Literal("9.9.9")))
    edited = tmp_path / "v999.ttl"
    g.serialize(edited, format="turtle")
    result = classify_cards([card], model=load_model(edited))[0]
    assert result["rule_version"] == {"iri": "https://w3id.org/atmp-kg/ontology/releases/9.9.9/atmp.ttl", "info": "9.9.9"}


def test_health_reports_the_rule_version() -> None:
    with TestClient(create_app(Settings(sparql_workers=1))) as client:
        body = client.get("/health").json()
        assert body["rule_version"] == _declared(ontology_file())
        assert client.post("/classify", json=make_card("h")).json()["rule_version"] == body["rule_version"]
