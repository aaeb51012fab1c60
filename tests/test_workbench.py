"""The workbench's server side in-process (FastAPI TestClient): the form is the card schema dressed by the ontology,
its conditional fields are the SHACL shapes' requirements, ``POST /whatif`` is ``atmp.analysis.whatif``, the named
queries bind as ``atmp query`` does, bad input is 422 naming the field, and no page names another host.
(The pages in a real browser: tests/browser/test_workbench.py.)"""

from __future__ import annotations

import json
import re

import pytest
from atmp.analysis import sources
from atmp.analysis.whatif import nearest, whatif
from atmp.core.rules import resources
from atmp.core.rules.ontology import load_model
from atmp.http.app import Settings, create_app
from atmp.http.workbench_data import field_conditions, form_spec, rule_book
from atmp.kg.queries import load_queries
from fastapi.testclient import TestClient

from .conftest import ROOT

CATALOGUE = {c["id"]: c for c in json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))}
PAGES = ["/", "/catalogue", "/catalogue/tisagenlecleucel", "/rules", "/docs", "/redoc"]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(sparql_workers=1, sparql_timeout=5.0))) as c:
        yield c


@pytest.fixture(scope="module")
def model():
    return load_model()


def card(product_id: str) -> dict:
    return {k: v for k, v in CATALOGUE[product_id].items() if k != "provenance"}


def test_the_form_is_the_schema_with_the_ontologys_labels(client, model):
    spec = client.get("/workbench/form").json()
    assert spec == form_spec(model)
    schema = resources.schema(resources.CARD_SCHEMA)
    fields = {f["path"]: f for s in spec["sections"] for f in s["fields"]}
    wanted = {f"{sec}.{key}" for sec, sub in schema["properties"].items() if sub.get("type") == "object" and sec != "label" for key in sub.get("properties", {})}
    assert fields["function.indication"]["kind"] == "texts" and fields["function.indication"]["langs"] == ["en", "zh"]  # free text, no rule reads it
    assert set(fields) == wanted
    for prop in model.properties:
        f = fields[prop.field]
        assert f["label"] == model.label(prop.iri) and set(f["label"]) == {"en", "zh"}
        assert set(f["name"]) == {"en", "zh"} and not f["name"]["en"].startswith("has ")  # words, as the report writes them
        if prop.is_object:
            assert [o["code"] for o in f["options"]] == [
                c
                for c in (schema["properties"][prop.section]["properties"][prop.key].get("enum") or schema["properties"][prop.section]["properties"][prop.key]["items"]["enum"])
                if c is not None
            ]
            assert all(o["label"] == model.label(prop.codes[o["code"]]) for o in f["options"])
    assert fields["substance.gene_editing_tool"]["default"] == "none"  # atmp:valueWhenAbsent, read as its code
    assert fields["function.homologous_use"]["default"] is None
    assert fields["function.mechanism"]["min_items"] == 1


def test_conditional_fields_come_from_the_violation_shapes(model):
    conditions = field_conditions(model)
    assert conditions["substance.cell_type"] == [[{"path": "substance.kind", "code": "cells"}]]
    assert [{"path": "substance.kind", "code": "cells"}, {"path": "process.manipulations", "code": "gene_editing"}] in conditions["substance.gene_editing_tool"]
    assert "substance.kind" not in conditions  # a required field is never conditional


def test_every_page_renders_without_naming_another_host(client):
    for url in PAGES:
        r = client.get(url)
        assert r.status_code == 200, url
        hosts = {m for m in re.findall(r'(?:src|href|action)="(https?://[^"/]+)', r.text)}
        # anchors the user may follow (a product's provenance, a cited document), marked external; never an asset
        hosts -= set(re.findall(r'class="external" rel="noreferrer noopener external" href="(https?://[^"/]+)', r.text))
        assert not hosts, (url, hosts)
        assert "cdn." not in r.text and "fonts.googleapis" not in r.text, url


PYTHON_REPR = ("<built-in", " object at 0x", "{&#39;", "[{&#39;", "{'", "[{'", "<function ", "<bound method")


def test_no_page_prints_a_python_object(client):
    """Every page, every catalogue product's page included, in both languages: words, never a repr."""
    for lang in ("en", "zh"):
        for url in [*PAGES, *(f"/catalogue/{cid}" for cid in CATALOGUE)]:
            html = client.get(url, params={"lang": lang}).text
            body = html.split("<main>", 1)[-1].split("</main>", 1)[0]  # the page, not its embedded JSON data
            found = [r for r in PYTHON_REPR if r in body]
            assert not found, (url, lang, found)
    client.cookies.clear()  # ?lang= set the language cookie; the other tests start without one


def test_api_docs_carry_a_real_card_as_the_example_body(client):
    schema = client.get("/openapi.json").json()
    first = {k: v for k, v in CATALOGUE[next(iter(CATALOGUE))].items() if k != "provenance"}
    for path in ("/classify", "/validate", "/whatif", "/report"):
        content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert content["examples"]["one card"]["value"] == first, path


def test_offline_docs_assets_are_served_here(client):
    html = client.get("/docs").text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html) + re.findall(r"url: '(/[^']+)'", html):
        assert client.get(asset).status_code == 200, asset
    assert "swagger-ui-bundle.js" in html
    redoc = client.get("/static/vendor/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in redoc


def test_static_serves_only_its_folders(client):
    assert client.get("/static/describe.js").status_code == 200
    for bad in ("/static/../app.py", "/static/vendor/../../fastapi/__init__.py", "/static/", "/static/nope.js"):
        assert client.get(bad).status_code == 404, bad


@pytest.mark.parametrize("header, lang", [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9,zh;q=0.5", "en"), ("fr-FR, zh;q=0.3", "zh"), ("", "en")])
def test_language_from_accept_language(client, header, lang):
    r = client.get("/", headers={"accept-language": header})
    assert f'data-lang="{lang}"' in r.text


def test_language_switch_is_remembered(client):
    r = client.get("/rules?lang=zh")
    assert 'data-lang="zh"' in r.text and r.cookies.get("atmp_lang") == "zh"
    assert 'data-lang="zh"' in client.get("/catalogue", headers={"accept-language": "en"}).text
    client.get("/?lang=en")


def test_whatif_endpoint_is_the_library(client, model):
    c = card("tisagenlecleucel")
    got = client.post("/whatif", json=c, params={"options": 50}).json()
    report = whatif(c, model=model)
    assert got["result"] == report["result"] and got["variants"] == report["variants"]
    assert [(n["boundary"], n["to"], [o["text"] for o in n["options"]]) for n in got["nearest"]] == [(n["boundary"], n["to"], n["changes"]) for n in nearest(report)]
    assert all(ch["op"] in ("set", "add", "remove") and "field_label" in ch for n in got["nearest"] for o in n["options"] for ch in o["changes"])
    # the page's list: every coherent change once, in the library's ranking, with all the boundaries it crosses
    assert [e["text"] for e in got["ranked"]] == [e["text"] for e in report["ranked"] if e["conforms"]]
    assert all(e["crosses"] for e in got["ranked"])


@pytest.mark.parametrize(
    "body, field",
    [
        ([{"id": "a", "substance": {"kind": "protein"}, "process": {"manipulations": []}, "function": {"intended_use": "treatment", "mechanism": ["immunological"]}}], ""),
        ({"id": "bad id!", "substance": {"kind": "protein"}, "process": {"manipulations": []}, "function": {"intended_use": "treatment", "mechanism": ["pharmacological"]}}, "id"),
        (
            {"id": "x", "substance": {"kind": "cell"}, "process": {"manipulations": []}, "function": {"intended_use": "treatment", "mechanism": ["pharmacological"]}},
            "substance.kind",
        ),
    ],
)
def test_whatif_bad_input_is_422_naming_the_field(client, body, field):
    r = client.post("/whatif", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == field


def test_named_queries_and_binding(client):
    listed = client.get("/queries").json()["queries"]
    assert [q["name"] for q in listed] == list(load_queries())
    r = client.post("/queries/products-by-nmpa-subclass/bind", json={"subclass": "viral_vector_gtmp"})
    assert r.status_code == 200 and "VALUES" in r.json()["query"]
    rows = client.post("/sparql", data={"query": r.json()["query"]}, headers={"accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    assert rows and {b["subclass"]["value"] for b in rows} == {"viral_vector_gtmp"}
    bad = client.post("/queries/approvals-by-year/bind", json={"year": "soon"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "year"]
    assert client.post("/queries/no-such-query/bind", json={}).status_code == 404
    assert client.post("/queries/approvals-by-year/bind", json={"nope": "1"}).status_code == 422


def test_sparql_without_a_query_is_the_editor_for_browsers_and_400_for_clients(client):
    page = client.get("/sparql", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and 'id="named"' in page.text
    assert all(f'value="{name}"' in page.text for name in load_queries())
    assert client.get("/sparql").status_code == 400
    assert client.get("/sparql", headers={"accept": "application/sparql-results+json"}).status_code == 400


def test_rule_book_groups_by_cited_document_in_order_and_names_deciding_products(client, model):
    book = rule_book(model, client.app.state.service.products, "en")
    docs = [d["document"] for d in book]
    documents = sources.documents(model)
    # one group per cited atmp:SourceDocument, in the ontology's order (the documents it is about first), each with its
    # title; what cites no document last, under one heading
    assert docs == [k for k in documents if k in docs] + (["other"] if "other" in docs else [])
    assert docs[:2] == ["N", "T"] and all(d["title"] == documents[d["document"]]["label"] for d in book if d["document"] != "other")
    assert not any(d.startswith(("21 ", "Reg ", "Dir ", "Issue", "Project")) and d not in documents for d in docs)  # no first-token groups
    for d in book:
        anchors = [p["anchor"] for p in d["passages"]]
        assert len(anchors) == len(set(anchors))
        assert [p["order"] for p in d["passages"]] == sorted(p["order"] for p in d["passages"])
    n_starts = [p["order"][0][0] for p in book[0]["passages"]]
    assert n_starts == sorted(n_starts) and n_starts[0] > 0
    # every class citing a passage is listed under it, with the products whose explanation it concludes
    ctmp = [c for p in book[0]["passages"] for c in p["classes"] if c["name"] == "CellTherapyMedicinalProduct"]
    assert ctmp and set(ctmp[0]["products"]) == {pid for pid, e in client.app.state.service.products.items() if e["result"]["nmpa"]["class"] == "CTMP"}
    # the contract's group carries every decision with its label and text, and each decision passage names its decisions
    (contract,) = [d for d in book if d["decisions"]]
    assert [x["name"] for x in contract["decisions"]] == [x["name"] for x in sources.decisions(model)]
    assert all(x["label"]["en"] and x["label"]["zh"] and x["text"]["en"] and x["text"]["zh"] for x in contract["decisions"])
    cited = [p for p in contract["passages"] if p["decisions"]]
    assert cited and all(p["label"]["en"].startswith(("Contract decision", "Contract decisions")) for p in cited)


def test_rules_page_anchors_every_link_the_pages_make(client, model):
    """Every citation link a page draws (/rules#anchor) lands on an element of the rule book."""
    rules = client.get("/rules").text
    ids = set(re.findall(r'id="([^"]+)"', rules))
    for url in ("/", "/catalogue/tisagenlecleucel"):
        html = client.get(url).text
        hrefs = set(re.findall(r'href="/rules#([^"]+)"', html))
        embedded = re.search(r'<script id="citations" type="application/json">(.*?)</script>', html, re.S)
        if embedded:  # the describe page's script draws its links from this index
            hrefs |= {p[2] for pieces in json.loads(embedded.group(1))["literals"].values() for p in pieces if p[2]}
        assert hrefs and hrefs <= ids, (url, sorted(hrefs - ids)[:5])


def test_catalogue_page_lists_every_product_with_filters(client):
    html = client.get("/catalogue").text
    assert html.count("<tr data-id=") == len(client.app.state.service.products)
    for fld in ("nmpa.class", "nmpa.subclass", "tianjin.risk_tier", "borderline", "agency", "status"):
        assert f'data-filter="{fld}"' in html
    assert client.get("/catalogue/not-a-product").status_code == 404
