"""The graph/HTTP layout keeps its promises: one lexer, one results writer, one table renderer, a router usable alone."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from atmp.analysis import render, taxonomy
from atmp.http import guard
from atmp.http.pool import SparqlPool, execute
from atmp.http.routers.sparql import SparqlRouter
from atmp.kg import queries, sparql_lexer
from atmp.kg.results import QueryResult
from fastapi import FastAPI
from fastapi.testclient import TestClient

DATA = '<urn:a> <urn:p> "x\\ty"@en <urn:g> .\n<urn:a> <urn:q> _:b <urn:g> .\n<urn:c> <urn:p> "中文" <urn:g> .\n'


def test_the_guard_and_the_binder_read_text_with_the_one_lexer(monkeypatch):
    assert guard.bare_words is sparql_lexer.bare_words
    text = 'SELECT ?x WHERE # not { here\n { ?x <urn:p> "{ WHERE {" }'
    assert queries.where_group_start(text) == text.index("{ ?x")
    seen = []
    monkeypatch.setattr(sparql_lexer, "tokens", lambda t: seen.append(t) or iter(()))
    with pytest.raises(queries.QueryError):
        queries.where_group_start(text)  # goes through the lexer's tokens, so with none there is no group
    assert seen == [text]


def test_query_result_and_endpoint_write_the_same_bytes():
    store = ox.Store()
    store.load(input=DATA.encode(), format=ox.RdfFormat.N_QUADS)
    text = "SELECT ?s ?o ?missing WHERE { ?s ?p ?o } ORDER BY ?s ?o"
    embedded = QueryResult.from_oxigraph(store.query(text, use_default_graph_as_union=True))
    for fmt in ("json", "xml", "csv", "tsv"):
        reply = execute(store, {"query": text, "format": fmt})
        assert reply.status == 200 and reply.body == embedded.serialize(fmt), fmt
    ask = QueryResult.from_oxigraph(store.query("ASK { ?s ?p ?o }", use_default_graph_as_union=True))
    assert execute(store, {"query": "ASK { ?s ?p ?o }", "format": "csv"}).body == ask.serialize("csv") == b"_askResult\r\ntrue\r\n"


def test_one_table_renderer_lines_up_chinese():
    lines = render.grid(["id", "label"], [["a", "细胞"], ["bb", "x"]])
    assert lines[0] == "id  label"
    assert [render.width(line[: line.index(" ") + 2]) for line in lines[2:]] == [3, 4]
    assert render.width(lines[2]) == render.width("a   细胞")
    result = QueryResult(["s"], [{"s": ox.NamedNode("https://w3id.org/atmp-kg/ontology/Product")}])
    assert render.query_table(result).splitlines() == ["s", "------------", "atmp:Product", "(1 row)"]


def test_taxonomy_ranks_tiers_in_the_result_schema_order():
    from atmp.core.rules.ontology import load_model
    from atmp.core.rules.resources import RESULT_SCHEMA, schema

    model = load_model()
    order = [c for c in schema(RESULT_SCHEMA)["properties"]["tianjin"]["properties"]["risk_tier"]["enum"] if c]

    def tiers(nodes):
        for n in nodes:
            if n["field"] == "tianjin.risk_tier":
                yield n["code"]
            yield from tiers(n["children"])

    found = list(tiers(taxonomy.classes(model, "en")))
    assert found == order
    assert [c["number"] for c in taxonomy.criteria(model, "zh")] == sorted(rc.number for rc in model.result_classes if rc.field == "tianjin.criteria")


def test_the_sparql_router_works_on_its_own():
    pool = SparqlPool(DATA.encode(), size=1, timeout=20, max_results=10)
    app = FastAPI()
    app.include_router(SparqlRouter(pool, path="/q"))
    pool.start()
    try:
        with TestClient(app) as client:
            r = client.get("/q", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
            assert r.status_code == 200 and r.json()["results"]["bindings"][0]["n"]["value"] == "3"
            assert client.post("/q", content="DROP ALL", headers={"content-type": "application/sparql-query"}).status_code == 400
    finally:
        pool.close()
