"""The HTTP service in-process (FastAPI TestClient): every endpoint, every error path, the SPARQL guard, and
the proof that ``POST /classify`` answers exactly what the warm HermiT reference answers."""

from __future__ import annotations

import csv
import io
import json
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer

import pyoxigraph as ox
import pytest
from atmp.cli import main as atmp_main
from atmp.core.classify import classify_cards, memberships_for
from atmp.core.result.validate import validate_cards
from atmp.http import guard
from atmp.http.app import Settings, create_app
from atmp.http.guard import QueryRefused, SparqlError, check_read_only
from atmp.http.negotiation import negotiate
from atmp.kg import results as sparql_results
from atmp.kg.queries import load_queries
from atmp.kg.store import KnowledgeGraph
from fastapi.testclient import TestClient
from rdflib import Graph, Namespace, URIRef

from .conftest import FIXTURES, ROOT, catalogue_size, make_card
from .service_support import hermit_reference, reference_cards

SH = Namespace("http://www.w3.org/ns/shacl#")
LIMITS = Settings(max_batch=40, max_body_bytes=200_000, sparql_timeout=3.0, sparql_max_results=1000, sparql_workers=2)
ATMP = "https://w3id.org/atmp-kg/ontology/"
EXAMPLES = FIXTURES / "examples" / "cards.json"


@pytest.fixture(scope="module")
def app():
    return create_app(LIMITS)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:  # runs the lifespan: SPARQL workers start, and stop at the end
        yield c


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    return json.loads(EXAMPLES.read_text(encoding="utf-8"))


def detail(response) -> list[dict]:
    body = response.json()
    assert "Traceback" not in response.text
    return body["detail"]


# ============================================================================================ health, docs
def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["engine"] == "compiled" and body["products"] == catalogue_size()
    assert body["limits"] == {
        "max_batch": 40,
        "max_body_bytes": 200_000,
        "sparql_timeout": 3.0,
        "sparql_max_results": 1000,
        "sparql_workers": 2,
        **{
            k: getattr(Settings(), k)
            for k in (
                "sparql_queue",
                "sparql_max_bytes",
                "sparql_worker_memory",
                "card_timeout",
                "card_chunk",
                "max_report_triples",
                "body_timeout",
                # issue 34: card workers and the connection limits
                "card_workers",
                "header_timeout",
                "keep_alive_timeout",
                "max_connections",
                "max_header_bytes",
            )
        },
    }
    assert body["ontology"].startswith(ATMP)


def test_openapi_documents_every_endpoint(client):
    doc = client.get("/openapi.json").json()
    assert {
        ("post", "/classify"),
        ("post", "/validate"),
        ("get", "/products"),
        ("get", "/products/{product_id}"),
        ("get", "/classes"),
        ("get", "/criteria"),
        ("get", "/sparql"),
        ("post", "/sparql"),
        ("get", "/health"),
    } <= {(m, p) for p, ops in doc["paths"].items() for m in ops}
    body = doc["paths"]["/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][1]["maxItems"] == 40  # the documented batch limit is the configured one
    assert doc["components"]["schemas"]["ProductCard"]["properties"]["substance"]["properties"]["kind"]["enum"][0] == "cells"
    assert "ClassificationResult" in doc["components"]["schemas"]
    assert client.get("/docs").status_code == 200
    assert client.get("/", follow_redirects=False).headers["content-type"].startswith("text/html")  # the workbench (tests/test_workbench.py)


def test_nothing_is_loaded_per_request(client, monkeypatch, examples):
    """The ontology, the catalogue graph and the engines were loaded at start-up; no request loads them again
    and none starts HermiT (Java)."""

    def refuse(*args, **kwargs):
        raise AssertionError("loaded during a request")

    targets = (
        "atmp.core.rules.ontology.load_model",
        "atmp.core.classify.load_model",
        "atmp.kg.store.KnowledgeGraph.build",
        "atmp.core.classify.warm_hermit",
        "atmp.core.engines.reasoner.warm_hermit",
    )
    for target in targets:
        monkeypatch.setattr(target, refuse)
    assert client.post("/classify", json=examples[:3]).status_code == 200
    assert client.post("/validate", json=examples[:3]).status_code == 200
    for path in ("/products", "/products/amimestrocel", "/classes", "/criteria", "/health", "/sparql?query=ASK%7B%7D"):
        assert client.get(path).status_code == 200, path


# ============================================================================================ POST /classify
@pytest.mark.parametrize("name", ["examples", "catalogue", "generated"])
def test_classify_gives_exactly_the_hermit_reference(client, name):
    """The service's compiled engine against ``classify_cards(..., engine="hermit")``: whole results, explanations included."""
    cards, expected = reference_cards()[name], hermit_reference()[name]
    r = client.post("/classify", json=cards)
    assert r.status_code == 200, r.text
    answers = r.json()
    assert [a["id"] for a in answers] == [c["id"] for c in cards]
    mismatched = [a["id"] for a, e in zip(answers, expected, strict=True) if a != e]
    assert not mismatched, f"the service differs from HermiT on {mismatched}"
    for card, want in list(zip(cards, expected, strict=True))[:5]:  # one card alone gives one result, the same
        assert client.post("/classify", json=card).json() == want


def test_classify_is_the_cli_answer(client, examples, capsysbinary):
    assert atmp_main(["classify", str(EXAMPLES), "--explain", "full"]) == 0
    cli = json.loads(capsysbinary.readouterr().out)
    assert client.post("/classify", json=examples).json() == cli
    assert client.post("/classify", content=EXAMPLES.read_bytes(), headers={"content-type": "application/json"}).json() == cli


def test_classify_inconsistent_card_still_gets_a_result(client):
    card = make_card("no-cell-type", substance={"cell_type": None})
    r = client.post("/classify", json=card)
    assert r.status_code == 200
    assert r.json()["conforms"] is False and r.json()["violations"]


# ============================================================================================ bad cards
@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ([make_card("a"), make_card("b", substance={"kind": "cell"})], ["body", 1, "substance", "kind"], "unknown code"),
        (make_card("a", substance={"kind": ...}), ["body", "substance", "kind"], "required"),
        (make_card("a", function={"homologous_use": "yes"}), ["body", "function", "homologous_use"], "wrong type"),
        (make_card("a", process={"manipulations": ["washing", "blending"]}), ["body", "process", "manipulations", 1], "unknown code"),
        (make_card("bad id!"), ["body", "id"], "is not allowed here"),
        (make_card("a..b"), ["body", "id"], "must not contain"),
        ([make_card("same"), make_card("same")], ["body", 1, "id"], "duplicate id"),
        ([], ["body"], "empty array"),
        ([make_card("a"), 3], ["body", 1], "JSON object"),
        ("just a string", ["body"], "JSON object"),
    ],
)
@pytest.mark.parametrize("path", ["/classify", "/validate"])
def test_schema_errors_are_422_naming_the_field(client, path, body, loc, words):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    [error] = detail(r)
    assert error["loc"] == loc
    assert words in error["msg"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{", "invalid JSON at line 1 column 2"),
        (b"", "empty body"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),  # nesting deeper than the parser's recursion limit
    ],
)
def test_unusable_bodies_are_422(client, content, words):
    r = client.post("/classify", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert words in detail(r)[0]["msg"]


def test_batch_over_the_card_limit_is_413(client):
    r = client.post("/classify", json=[make_card(f"c{i}") for i in range(41)])
    assert r.status_code == 413
    assert "too many cards (41 > 40)" in detail(r)


def test_body_over_the_byte_limit_is_413(client):
    big = json.dumps({**make_card("big"), "label": {"en": "x" * 300_000}}).encode()
    r = client.post("/classify", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "200000 bytes" in detail(r)


def test_chunked_body_over_the_byte_limit_is_413(client):
    """No Content-Length (Transfer-Encoding: chunked): the bytes are counted as they arrive."""

    def chunks():
        for _ in range(50):
            yield b" " * 10_000

    r = client.post("/classify", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and "200000 bytes" in detail(r)


def test_an_unexpected_failure_is_a_generic_500_without_traceback(app, monkeypatch):
    service = app.state.service

    def broken(body):
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(service, "classify", broken)
    r = TestClient(app, raise_server_exceptions=False).post("/classify", json=make_card("x"))  # no `with`: the shared app keeps running
    assert r.status_code == 500
    assert r.json()["detail"] == "internal error; the service logged it" and r.json()["incident"]
    assert "secret" not in r.text and "Traceback" not in r.text


# ============================================================================================ POST /validate
def test_validate_json_is_the_cli_report(client, model, examples, capsys, tmp_path):
    cards = [*examples[:10], make_card("no-cell-type", substance={"cell_type": None})]
    expected = validate_cards(model, cards, memberships_for(cards, engine="compiled", model=model))
    r = client.post("/validate", json=cards)
    assert r.status_code == 200 and r.json() == expected
    (tmp_path / "cards.json").write_text(json.dumps(cards), encoding="utf-8")
    assert atmp_main(["validate", str(tmp_path / "cards.json")]) == 1  # one card does not conform
    assert json.loads(capsys.readouterr().out) == expected
    assert expected[-1]["conforms"] is False
    assert client.post("/validate", json=cards[-1]).json() == expected[-1]


@pytest.mark.parametrize("how", [{"params": {"format": "turtle"}}, {"headers": {"accept": "text/turtle"}}])
def test_validate_turtle_is_the_standard_report(client, how):
    r = client.post("/validate", json=[make_card("ok"), make_card("no-cell-type", substance={"cell_type": None})], **how)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    report = Graph().parse(data=r.text, format="turtle")
    [node] = report.subjects(predicate=SH.conforms)
    assert report.value(node, SH.conforms).toPython() is False
    messages = {m.language for m in report.objects(None, SH.resultMessage)}
    assert {"en", "zh"} <= messages


# ============================================================================================ GET /products
def test_products_are_the_classified_catalogue(client, app):
    r = client.get("/products")
    assert r.status_code == 200
    body = r.json()
    catalogue = json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))
    assert body["count"] == len(catalogue) == len(body["products"])
    assert [p["id"] for p in body["products"]] == [c["id"] for c in catalogue]
    for summary, card in zip(body["products"], catalogue, strict=True):
        indication = card["function"].get("indication")
        assert set(summary) == {"id", "label", "provenance", "atmp", "exclusion", "nmpa", "tianjin", "borderline", "conforms"} | ({"indication"} if indication else set())
        assert summary.get("indication") == indication  # the free text, shown beside the name


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"subclass": "viral_vector_gtmp"}, lambda p: p["nmpa"]["subclass"] == "viral_vector_gtmp"),
        ({"tier": "high"}, lambda p: p["tianjin"]["risk_tier"] == "high"),
        ({"tier": "none"}, lambda p: p["tianjin"]["risk_tier"] is None),
        ({"borderline": "true"}, lambda p: p["borderline"]),
        ({"borderline": "false"}, lambda p: not p["borderline"]),
        ({"borderline": "excluded_by_n_graded_by_t"}, lambda p: "excluded_by_n_graded_by_t" in p["borderline"]),
        (
            {"subclass": "ex_vivo_genetically_modified_ctmp", "tier": "high", "borderline": "true"},
            lambda p: p["nmpa"]["subclass"] == "ex_vivo_genetically_modified_ctmp" and p["tianjin"]["risk_tier"] == "high" and p["borderline"],
        ),
    ],
)
def test_product_filters(client, params, check):
    everything = client.get("/products").json()["products"]
    r = client.get("/products", params=params)
    assert r.status_code == 200
    found = r.json()["products"]
    assert found, f"no catalogue product for {params}: pick a filter the catalogue exercises"
    assert [p["id"] for p in found] == [p["id"] for p in everything if check(p)]


@pytest.mark.parametrize("params", [{"subclass": "car_t"}, {"tier": "extreme"}, {"borderline": "maybe"}])
def test_unknown_filter_values_are_422(client, params):
    r = client.get("/products", params=params)
    assert r.status_code == 422
    assert detail(r)[0]["loc"] == ["query", next(iter(params))]


def test_one_product(client, model):
    catalogue = json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))
    card = catalogue[5]
    r = client.get(f"/products/{card['id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == card["id"] and body["provenance"] == card["provenance"]
    assert body["card"] == {k: v for k, v in card.items() if k != "provenance"}
    assert body["result"] == classify_cards([card], model=model)[0]
    assert client.get("/products/no-such-product").status_code == 404
    assert "no product with id" in detail(client.get("/products/no-such-product"))


# ============================================================================================ the taxonomy
def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node["children"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_classes_tree(client, model, lang):
    r = client.get("/classes", params={"lang": lang})
    assert r.status_code == 200
    roots = r.json()["roots"]
    assert [n["name"] for n in roots] == ["AdvancedTherapyMedicinalProduct", "NotAnATMP", "TianjinGradedProduct"]
    atmp = roots[0]
    assert [c["code"] for c in atmp["children"]] == ["CTMP", "GTMP", "OTHER"]
    assert sum(len(c["children"]) for c in atmp["children"]) == 11
    assert all(s["field"] == "nmpa.subclass" for c in atmp["children"] for s in c["children"])
    tianjin = roots[2]
    assert [c["code"] for c in tianjin["children"]] == ["cell_therapy", "gene_therapy", "high", "medium", "low"]
    nodes = list(_walk(roots))
    by_field = {}
    for n in nodes:
        by_field.setdefault(n["field"], set()).add(n["code"])
    for rc in model.result_classes:
        if rc.field in ("exclusion", "nmpa.class", "nmpa.subclass", "tianjin.category", "tianjin.subcategory", "tianjin.risk_tier"):
            assert rc.code in by_field[rc.field]
    for n in nodes:
        assert n["label"] == model.label(URIRef(n["iri"]))[lang]
    assert all(n["source"] for n in nodes if n["field"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_criteria(client, lang):
    r = client.get("/criteria", params={"lang": lang})
    assert r.status_code == 200
    criteria = r.json()["criteria"]
    assert [c["number"] for c in criteria] == list(range(1, 15))
    assert all(c["source"].startswith(f"T 6({'一' if c['number'] <= 6 else '二' if c['number'] <= 10 else '三'})") for c in criteria)
    assert [c["group"]["name"] for c in criteria] == ["HighRiskCriterionMet"] * 6 + ["MediumRiskCriterionMet"] * 4 + ["LowRiskCriterionMet"] * 4
    if lang == "zh":
        assert criteria[0]["label"].startswith("T六标准1")
    else:
        assert criteria[0]["label"].startswith("T 6 criterion 1")
    assert all(c["label"] and c["definition"] for c in criteria)


@pytest.mark.parametrize("path", ["/classes", "/criteria"])
def test_unknown_language_is_422(client, path):
    r = client.get(path, params={"lang": "fr"})
    assert r.status_code == 422 and detail(r)[0]["loc"] == ["query", "lang"]


# ============================================================================================ SPARQL
COUNT_TIERS = f'SELECT ?tier (COUNT(?p) AS ?n) WHERE {{ ?p a ?c . ?c <{ATMP}resultField> "tianjin.risk_tier" ; <{ATMP}resultCode> ?tier }} GROUP BY ?tier ORDER BY ?tier'


@pytest.fixture(scope="module")
def kg(app) -> KnowledgeGraph:
    return app.state.service.kg


def test_select_json_matches_the_embedded_graph(client, kg):
    r = client.get("/sparql", params={"query": COUNT_TIERS})
    assert r.status_code == 200 and r.headers["content-type"] == "application/sparql-results+json"
    assert r.json() == kg.query(COUNT_TIERS).to_json()


def test_named_queries_over_http(client, kg):
    for name in ("tianjin-tier-counts", "nmpa-class-counts", "rules-with-sources"):
        text = load_queries()[name].text
        r = client.post("/sparql", content=text, headers={"content-type": "application/sparql-query"})
        assert r.status_code == 200, (name, r.text)
        assert r.json() == kg.query(text).to_json(), name


def test_post_form(client, kg):
    r = client.post("/sparql", data={"query": COUNT_TIERS})
    assert r.status_code == 200 and r.json() == kg.query(COUNT_TIERS).to_json()


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("text/html;q=0.9, text/csv;q=0.5", "text/csv"),
        ("text/*", "text/csv"),
    ],
)
def test_select_content_negotiation(client, kg, accept, media):
    r = client.get("/sparql", params={"query": COUNT_TIERS}, headers={"accept": accept} if accept else {})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    expected = {row["tier"]: row["n"] for row in kg.query(COUNT_TIERS).records()}
    if media.endswith("json"):
        got = {b["tier"]["value"]: int(b["n"]["value"]) for b in r.json()["results"]["bindings"]}
    elif media.endswith("xml"):
        ns = {"s": "http://www.w3.org/2005/sparql-results#"}
        root = ET.fromstring(r.content)
        got = {res.find("s:binding[@name='tier']/s:literal", ns).text: int(res.find("s:binding[@name='n']/s:literal", ns).text) for res in root.iterfind("s:results/s:result", ns)}
    elif media == "text/csv":
        rows = list(csv.DictReader(io.StringIO(r.text)))
        got = {row["tier"]: int(row["n"]) for row in rows}
    else:
        lines = r.text.splitlines()
        assert lines[0] == "?tier\t?n"
        got = {t.strip('"'): int(n.split("^^")[0].strip('"')) for t, n in (line.split("\t") for line in lines[1:])}
    assert got == expected


def test_ask_and_format_parameter(client):
    assert client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).json() == {"head": {}, "boolean": True}
    r = client.get("/sparql", params={"query": "ASK { <urn:x> <urn:y> <urn:z> }", "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv") and r.text.splitlines()[-1] == "false"


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [(None, ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES), ("application/rdf+xml", ox.RdfFormat.RDF_XML), ("application/ld+json", ox.RdfFormat.JSON_LD)],
)
def test_construct_and_describe_as_rdf(client, kg, accept, fmt):
    query = f"CONSTRUCT {{ ?p a <{ATMP}HighRiskProduct> }} WHERE {{ ?p a <{ATMP}HighRiskProduct> }}"
    r = client.get("/sparql", params={"query": query}, headers={"accept": accept} if accept else {})
    assert r.status_code == 200, r.text
    triples = {q.triple for q in ox.parse(r.content, format=fmt)}
    assert triples == set(kg.store.query(query, use_default_graph_as_union=True))
    r = client.get("/sparql", params={"query": "DESCRIBE <https://w3id.org/atmp-kg/product/amimestrocel>"})
    assert r.status_code == 200 and "amimestrocel" in r.text and r.headers["content-type"].startswith("text/turtle")


@pytest.mark.parametrize(("query", "accept"), [(COUNT_TIERS, "text/turtle"), ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "text/csv"), (COUNT_TIERS, "image/png")])
def test_unacceptable_type_is_406(client, query, accept):
    r = client.get("/sparql", params={"query": query}, headers={"accept": accept})
    assert r.status_code == 406 and "Accept" in detail(r)


def test_default_graph_uri_restricts_the_dataset(client):
    query = f"ASK {{ ?c <{ATMP}resultField> ?f }}"
    assert client.get("/sparql", params={"query": query}).json()["boolean"] is True
    r = client.get("/sparql", params={"query": query, "default-graph-uri": "https://w3id.org/atmp-kg/graph/asserted"})
    assert r.json()["boolean"] is False
    assert client.get("/sparql", params={"query": query, "default-graph-uri": "not an iri"}).status_code == 400


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({"params": {"query": "SELEKT * WHERE { ?s ?p ?o }"}}, 400, "invalid SPARQL"),
        ({"params": {}}, 400, "missing query"),
        ({"params": {"query": "   "}}, 400, "missing query"),
        ({"params": {"query": "SELECT * WHERE { ?s ?p ?o }", "format": "pdf"}}, 400, "unknown format"),
    ],
)
def test_bad_sparql_is_400(client, kwargs, status, words):
    r = client.get("/sparql", **kwargs)
    assert r.status_code == status and words in detail(r)


def test_post_sparql_bad_media_type_is_415(client):
    r = client.post("/sparql", content="SELECT * WHERE { ?s ?p ?o } LIMIT 1", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert client.post("/sparql", data={"format": "json"}).status_code == 400


def test_result_size_limit(client):
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 400 and "more than 1000 results" in detail(r) and "LIMIT" in detail(r)
    assert client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1000"}).status_code == 200
    r = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
    assert r.status_code == 400 and "more than 1000 results" in detail(r)


def test_time_limit_stops_the_query_and_the_endpoint_recovers(client):
    r = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"})
    assert r.status_code == 503 and "time limit of 3 s" in detail(r)
    assert r.headers["retry-after"] == "2", "a 503 says when to come back (issue 34)"
    for _ in range(3):  # the other worker answers at once; the killed one is replaced
        assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200
    assert client.get("/health").json()["sparql_workers"]["restarts"] >= 1


# -- read-only: each forbidden form refused
G = "<https://w3id.org/atmp-kg/graph/asserted>"
FORBIDDEN = {
    "insert data": "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "delete data": "DELETE DATA { <urn:a> <urn:b> <urn:c> }",
    "delete where": "DELETE WHERE { ?s ?p ?o }",
    "modify with": f"WITH {G} DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p 1 }} WHERE {{ ?s ?p ?o }}",
    "load": "LOAD <http://127.0.0.1:1/data.ttl>",
    "load into": f"LOAD SILENT <http://127.0.0.1:1/data.ttl> INTO GRAPH {G}",
    "clear": "CLEAR ALL",
    "clear graph": f"CLEAR GRAPH {G}",
    "drop": "DROP DEFAULT",
    "create": "CREATE GRAPH <urn:g>",
    "add": f"ADD {G} TO <urn:g>",
    "move": f"MOVE {G} TO <urn:g>",
    "copy": f"COPY {G} TO <urn:g>",
    "query then update": "SELECT * WHERE { ?s ?p ?o } ; INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "lower case": "clear all",
    "service": "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "service silent": "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "service variable": "SELECT * WHERE { VALUES ?e { <http://127.0.0.1:1/sparql> } SERVICE ?e { ?s ?p ?o } }",
    "service in optional": "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <http://127.0.0.1:1/x> { ?s ?q ?v } } } LIMIT 1",
    "service in subquery": "SELECT * WHERE { { SELECT ?s WHERE { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } } } }",
    "service in exists": "ASK { ?s ?p ?o FILTER EXISTS { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } } }",
    "service escaped": "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }",
    "service after string": 'SELECT * WHERE { ?s ?p "a \\" # " . SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }',
    "service after comment": "SELECT * WHERE { ?s ?p ?o # a comment\n SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }",
    "service glued": "SELECT * WHERE { ?s ?p ?o .SERVICE<http://127.0.0.1:1/x>{ ?s ?p ?o } }",
}


@pytest.mark.parametrize("name", list(FORBIDDEN))
@pytest.mark.parametrize("how", ["get", "form", "body"])
def test_forbidden_forms_are_refused(client, name, how):
    query = FORBIDDEN[name]
    if how == "get":
        r = client.get("/sparql", params={"query": query})
    elif how == "form":
        r = client.post("/sparql", data={"query": query})
    else:
        r = client.post("/sparql", content=query, headers={"content-type": "application/sparql-query"})
    assert r.status_code == 400, r.text
    message = detail(r)
    assert ("read-only" in message) if "service" not in name else ("SERVICE is refused" in message)


@pytest.mark.parametrize("how", ["get-update", "form-update", "sparql-update"])
def test_update_operation_is_refused(client, kg, how):
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    if how == "get-update":
        r = client.get("/sparql", params={"update": update})
    elif how == "form-update":
        r = client.post("/sparql", data={"update": update})
    else:
        r = client.post("/sparql", content=update, headers={"content-type": "application/sparql-update"})
    assert r.status_code == 400 and "read-only" in detail(r)
    assert client.get("/sparql", params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"}).json()["boolean"] is False


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://127.0.0.1:1/x> and INSERT DATA in a comment\nLIMIT 1",
        'SELECT * WHERE { ?s ?p ?o FILTER(?o != "SERVICE <x> { } ; CLEAR ALL") } LIMIT 1',
        "SELECT * WHERE { ?s ?p ?o FILTER(?o != '''load\ndrop''') } LIMIT 1",
        "SELECT * WHERE { ?s <http://example.org/service/load> ?o } LIMIT 1",
        "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:service ?o . ?s ex:clear ?copy } LIMIT 1",
    ],
)
def test_words_in_comments_strings_and_iris_are_not_refused(client, query):
    assert client.get("/sparql", params={"query": query}).status_code == 200


def test_the_algebra_check_stands_on_its_own(monkeypatch):
    """Without the token scan, rdflib's algebra still finds the SERVICE clause."""
    monkeypatch.setattr(guard, "bare_words", lambda text: [])
    with pytest.raises(QueryRefused, match="SERVICE"):
        check_read_only("SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <http://127.0.0.1:1/x> { ?s ?q ?v } } }")
    with pytest.raises(SparqlError, match="invalid SPARQL"):  # an update is no query for the parser either
        check_read_only("INSERT DATA { <urn:a> <urn:b> <urn:c> }")


def test_the_named_queries_pass_the_guard():
    for name, query in load_queries().items():
        assert check_read_only(query.text) == "SelectQuery", name


def test_xml_results_stay_well_formed():
    """Control characters XML 1.0 cannot carry become U+FFFD instead of breaking the document."""
    body = sparql_results.serialize_solutions(["x"], [[ox.Literal("a\x01b<&>")], [None]], "xml")
    root = ET.fromstring(body)
    assert root.find(".//{http://www.w3.org/2005/sparql-results#}literal").text == "a\ufffdb<&>"


def test_negotiate():
    assert negotiate(False, "application/sparql-results+xml;q=0.2, text/csv") == ("text/csv", "csv")
    assert negotiate(True, "application/json") == ("application/ld+json", "jsonld")
    assert negotiate(True, None, "ntriples") == ("application/n-triples", "ntriples")
    with pytest.raises(SparqlError):
        negotiate(False, "text/turtle;q=1, text/csv;q=0")


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_response(500)
        self.end_headers()

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


def test_service_clause_never_reaches_the_network(client):
    """pyoxigraph does fetch a SERVICE endpoint (shown first, directly); through the service nothing is fetched."""
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    query = f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"
    try:
        with pytest.raises(OSError):
            list(ox.Store().query(query))
        assert len(_Recorder.hits) == 1
        _Recorder.hits.clear()
        for r in (client.get("/sparql", params={"query": query}), client.post("/sparql", data={"query": query.replace("SERVICE", "service silent")})):
            assert r.status_code == 400 and "SERVICE is refused" in detail(r)
        assert _Recorder.hits == []
    finally:
        server.shutdown()
        server.server_close()


# ============================================================================================ settings
def test_settings_from_environment_and_flags():
    s = Settings.from_env({"ATMP_MAX_BATCH": "7", "ATMP_SPARQL_TIMEOUT": "2.5"}, sparql_workers=3, max_batch=None)
    assert (s.max_batch, s.sparql_timeout, s.sparql_workers, s.max_body_bytes) == (7, 2.5, 3, Settings().max_body_bytes)
    with pytest.raises(ValueError, match="ATMP_MAX_BODY_BYTES"):
        Settings.from_env({"ATMP_MAX_BODY_BYTES": "lots"})
    with pytest.raises(ValueError, match="sparql_timeout"):
        Settings(sparql_timeout=0)


def test_serve_refuses_bad_limits(capsys):
    assert atmp_main(["serve", "--sparql-timeout", "-1"]) == 2
    assert "sparql_timeout" in capsys.readouterr().err
    assert atmp_main(["serve", "--port", "0"]) == 2


# ============================================================================ issue 32: the 422 answer says what to type instead
def test_422_lists_every_problem_in_words_with_suggestions(client):
    card = make_card("my product", substance={"kind": "cell", "orign": "autologous"}, process={"manipulations": ["culture-expansion"]})
    del card["function"]["mechanism"]
    r = client.post("/classify", json=card)
    assert r.status_code == 422
    found = {e["field"]: e for e in detail(r)}
    assert set(found) == {"id", "substance.kind", "process.manipulations[0]", "function.mechanism", "substance.orign"}
    assert found["substance.kind"]["suggestion"] == "cells" and found["process.manipulations[0]"]["suggestion"] == "culture_expansion"
    assert found["substance.orign"]["suggestion"] == "substance.origin" and found["id"]["suggestion"] == "my-product"
    assert found["substance.kind"]["loc"] == ["body", "substance", "kind"]
    for e in found.values():
        assert set(e["message"]) == {"en", "zh"} and all(e["message"].values())
        for text in (e["msg"], *e["message"].values()):
            assert not [x for x in ("^[", "]{", "{0,", "\\d") if x in text], text  # no regular expression shown
        assert not [p for p in ("substance.origin", "substance.kind") if p in " ".join(e["message"].values())]  # words, not paths


def test_a_batch_names_the_card_of_each_problem(client):
    cards = [make_card("a"), make_card("b c", substance={"kind": "cell"})]
    r = client.post("/validate", json=cards)
    assert r.status_code == 422
    assert [(e["loc"][:2], e.get("suggestion")) for e in detail(r)] == [(["body", 1], "b-c"), (["body", 1], "cells")]
