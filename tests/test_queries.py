"""Every named query answers its question on the catalogue; parameters are bound safely.

Expected answers are computed from the classification results and the cards in Python, not from
SPARQL, so a query that reads the wrong class, field or graph fails here.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pyoxigraph as ox
import pytest
from atmp.core.rules.ontology import load_model
from atmp.kg import queries as Q

from .kg_support import INJECTIONS, PARAM_CASES, catalogue_cards, catalogue_graph

ATMP_CLI = [sys.executable, "-m", "atmp.cli"]
PRODUCT = "https://w3id.org/atmp-kg/product/"

# The contract (PRODUCT-CARD.md): substantial manipulations, the criteria of each tier, the priority rules.
SUBSTANTIAL = {
    "enzymatic_digestion",
    "sorting_or_purification",
    "culture_expansion",
    "induced_differentiation",
    "reprogramming",
    "activation",
    "genetic_modification",
    "gene_editing",
    "engineering_modification",
    "decellularisation",
    "loading",
    "three_d_printing",
}
TIER_CRITERIA = {"high": set(range(1, 7)), "medium": set(range(7, 11))}
PRIORITY_RULES = {
    "priority_neoantigen",
    "priority_ex_vivo_ctmp_over_gtmp",
    "priority_oncolytic",
    "priority_emerging_microorganism",
    "priority_gene_editing",
    "priority_genetic_material_is_gtmp",
    "priority_ctmp_over_tissue_engineered",
    "priority_novel_delivery_over_cell_derivative",
    "priority_novel_delivery_over_ctmp",
    "unmodified_oncolytic_in_gtmp",
    "genetically_modified_tissue_is_tissue_engineered",  # names tissue_engineered; first met by a catalogue card with ukidney
    "epigenetic_editor_not_gene_editing",  # N's gene-editing definition files an epigenetic editor by its carrier (TUNE-401)
}


@pytest.fixture(scope="module")
def kg():
    return catalogue_graph()


@pytest.fixture(scope="module")
def cards() -> dict[str, dict]:
    return {c["id"]: c for c in catalogue_cards()}


@pytest.fixture(scope="module")
def results(kg) -> dict[str, dict]:
    return kg.results


def run(kg, name: str, **params):
    return Q.run(Q.load_queries()[name], params, graph=kg)


def pid(iri: str) -> str:
    assert iri.startswith(PRODUCT), iri
    return iri[len(PRODUCT) :]


def approvals(card: dict) -> list[tuple[str, int]]:
    prov = card["provenance"]
    out = [(prov["agency"], prov["year"])] if prov["agency"] != "none" else []
    return out + [(a["agency"], a["year"]) for a in prov.get("approvals", [])]


# --------------------------------------------------------------------------- one expected-answer test per named query


def check_products_by_nmpa_subclass(kg, cards, results):
    rows = run(kg, "products-by-nmpa-subclass").records()
    assert {(r["class"], r["subclass"], pid(r["product"])) for r in rows} == {(res["nmpa"]["class"], res["nmpa"]["subclass"], i) for i, res in results.items() if res["atmp"]}
    assert len(rows) == sum(res["atmp"] for res in results.values())
    by_id = {pid(r["product"]): r for r in rows}
    assert by_id["gendicine"]["subclass"] == "viral_vector_gtmp" and by_id["gendicine"]["labelZh"] == cards["gendicine"]["label"]["zh"]
    assert by_id["h101-oncorine"]["subclass"] == "oncolytic_microorganism_gtmp"
    assert by_id["equecabtagene-autoleucel"]["subclass"] == "ex_vivo_genetically_modified_ctmp"
    assert by_id["amimestrocel"]["subclass"] == "non_genetically_modified_ctmp"
    assert all(r["source"].startswith("N ") for r in rows)
    one = run(kg, "products-by-nmpa-subclass", subclass="viral_vector_gtmp").records()
    assert {pid(r["product"]) for r in one} == {i for i, res in results.items() if res["nmpa"]["subclass"] == "viral_vector_gtmp"}


def check_nmpa_class_counts(kg, cards, results):
    rows = run(kg, "nmpa-class-counts").records()
    expected = Counter((r["nmpa"]["class"], r["nmpa"]["subclass"], r["exclusion"]) for r in results.values())
    assert {(r["class"], r["subclass"], r["exclusion"]): r["products"] for r in rows} == dict(expected)


def check_tianjin_tier_counts(kg, cards, results):
    rows = run(kg, "tianjin-tier-counts").records()
    expected = Counter((r["tianjin"]["category"], r["tianjin"]["subcategory"], r["tianjin"]["risk_tier"]) for r in results.values())
    assert {(r["category"], r["subcategory"], r["tier"]): r["products"] for r in rows} == dict(expected)


def check_risk_tier_criteria(kg, cards, results):
    for tier, params in (("high", {}), ("medium", {"tier": "medium"})):
        rows = run(kg, "risk-tier-criteria", **params).records()
        expected = {(i, n) for i, r in results.items() if r["tianjin"]["risk_tier"] == tier for n in r["tianjin"]["criteria"] if n in TIER_CRITERIA[tier]}
        assert {(pid(r["product"]), r["criterion"]) for r in rows} == expected
        assert {r["tier"] for r in rows} == {tier}
        # every product of the tier is there: some deciding criterion put it there
        assert {pid(r["product"]) for r in rows} == {i for i, r in results.items() if r["tianjin"]["risk_tier"] == tier}
    rows = run(kg, "risk-tier-criteria").records()
    assert {r["criterion"] for r in rows if pid(r["product"]) == "equecabtagene-autoleucel"} == {2, 3}


def check_n_t_divergence(kg, cards, results):
    expected = {}
    for i, r in results.items():
        n_class, t_cat = r["nmpa"]["class"], r["tianjin"]["category"]
        if n_class is None and t_cat is not None:
            expected[i] = "outside ATMP scope under N, graded by T"
        elif n_class is not None and t_cat is None:
            expected[i] = "ATMP under N, not graded by T"
        elif (n_class, t_cat) in (("CTMP", "gene_therapy"), ("GTMP", "cell_therapy")):
            expected[i] = "N class and T category disagree"
    rows = run(kg, "n-t-divergence").records()
    assert {pid(r["product"]): r["divergence"] for r in rows} == expected
    assert expected.get("hpc-cord-blood-hemacord") == "outside ATMP scope under N, graded by T"


def check_borderline_products(kg, cards, results):
    rows = run(kg, "borderline-products").records()
    assert {(r["code"], pid(r["product"])) for r in rows} == {(b["code"], i) for i, r in results.items() for b in r["borderline"]}
    sources = {(b["code"], b["source"]) for r in results.values() for b in r["borderline"]}
    assert {(r["code"], r["source"]) for r in rows} == sources
    assert all(r["rule"] for r in rows if r["code"].startswith("priority_"))
    one = run(kg, "borderline-products", code="priority_gene_editing").records()
    expected = {i for i, r in results.items() if any(b["code"] == "priority_gene_editing" for b in r["borderline"])}
    assert {pid(r["product"]) for r in one} == expected and {"edit-101", "nexiguran-ziclumeran", "verve-101"} <= expected


def check_products_by_manipulation(kg, cards, results):
    rows = run(kg, "products-by-manipulation").records()
    assert {(r["manipulation"], pid(r["product"])) for r in rows} == {(m, i) for i, c in cards.items() for m in c["process"]["manipulations"]}
    assert all(r["substantial"] == (r["manipulation"] in SUBSTANTIAL) for r in rows)
    one = run(kg, "products-by-manipulation", manipulation="gene_editing").records()
    assert {pid(r["product"]) for r in one} == {i for i, c in cards.items() if "gene_editing" in c["process"]["manipulations"]}


def check_origin_by_tier(kg, cards, results):
    rows = run(kg, "origin-by-tier").records()
    expected = Counter((r["tianjin"]["risk_tier"], cards[i]["substance"]["origin"]) for i, r in results.items() if r["tianjin"]["risk_tier"])
    assert {(r["tier"], r["origin"]): r["products"] for r in rows} == dict(expected)
    assert expected[("high", "autologous")] > 0 and expected[("medium", "allogeneic")] > 0


def check_rules_with_sources(kg, cards, results):
    model = load_model()
    rows = run(kg, "rules-with-sources").records()
    by_rule = {r["rule"]: r for r in rows}
    for rc in model.result_classes:
        row = by_rule[str(rc.iri)]
        assert (row["field"], row["code"], row["criterion"], row["source"]) == (rc.field, rc.code, rc.number, rc.source)
        assert row["label"] == rc.label["en"] and row["labelZh"] == rc.label["zh"]
    assert all(r["source"] for r in rows)
    assert len(rows) > len(model.result_classes)  # the defined intermediate classes (Fits..., conditions) are rules too


def check_rules_mentioning_term(kg, cards, results):
    from rdflib import OWL, RDF, RDFS, Literal, URIRef
    from rdflib.namespace import SKOS

    graph = load_model().graph
    for term in ("encapsulation", "包封", "Neoantigen"):
        expected = set()
        for cls in graph.subjects(RDF.type, OWL.Class):
            if not isinstance(cls, URIRef) or graph.value(cls, URIRef("http://purl.org/dc/terms/source")) is None:
                continue
            for prop in (RDFS.label, SKOS.definition, SKOS.editorialNote):
                if any(isinstance(o, Literal) and term.lower() in str(o).lower() for o in graph.objects(cls, prop)):
                    expected.add(str(cls))
        rows = run(kg, "rules-mentioning-term", term=term).records()
        assert {r["rule"] for r in rows} == expected and expected
        assert {r["term"] for r in rows} == {term}
    rows = run(kg, "rules-mentioning-term", term="包封").records()
    assert "https://w3id.org/atmp-kg/ontology/EncapsulationTwoMeanings" in {r["rule"] for r in rows}
    assert run(kg, "rules-mentioning-term", term="no such words anywhere").rows == []


def check_products_by_priority_rule(kg, cards, results):
    rows = run(kg, "products-by-priority-rule").records()
    expected = {(b["code"], i, r["nmpa"]["subclass"]) for i, r in results.items() for b in r["borderline"] if b["code"] in PRIORITY_RULES}
    assert {(r["rule"], pid(r["product"]), r["subclass"]) for r in rows} == expected
    one = run(kg, "products-by-priority-rule", rule="priority_neoantigen").records()
    assert {pid(r["product"]) for r in one} == {"intismeran-autogene", "autogene-cevumeran"} and {r["subclass"] for r in one} == {"neoantigen"}


def check_gene_editing_products(kg, cards, results):
    rows = run(kg, "gene-editing-products").records()
    editing = load_model().grouping("ActualGeneEditingTool")  # sequence editors: an epigenetic editor is not one (N 129-131)
    expected = {i: c["substance"]["gene_editing_tool"] for i, c in cards.items() if c["substance"].get("gene_editing_tool") in editing}
    assert {pid(r["product"]): r["tool"] for r in rows} == expected
    for r in rows:
        cellular = cards[pid(r["product"])]["substance"]["kind"] in ("cells", "tissue")
        assert r["where"].startswith("ex vivo" if cellular else "in vivo")
        assert r["subclass"] == results[pid(r["product"])]["nmpa"]["subclass"]
    assert {"exagamglogene-autotemcel", "nexiguran-ziclumeran", "verve-101"} <= set(expected)


def check_approvals_by_year(kg, cards, results):
    rows = run(kg, "approvals-by-year").records()
    expected = {(i, year) for i, c in cards.items() for agency, year in approvals(c) if agency == "NMPA"}
    assert {(pid(r["product"]), r["year"]) for r in rows} == expected
    assert [r["year"] for r in rows] == sorted(r["year"] for r in rows)
    assert {"gendicine", "h101-oncorine", "axicabtagene-ciloleucel-cn", "amimestrocel", "ciltacabtagene-autoleucel"} <= {pid(r["product"]) for r in rows}
    assert all(r["labelZh"] for r in rows)
    year = run(kg, "approvals-by-year", year="2021").records()
    assert {pid(r["product"]) for r in year} == {"axicabtagene-ciloleucel-cn", "relmacabtagene-autoleucel"}
    us = run(kg, "approvals-by-year", jurisdiction="US").records()
    assert len(us) == sum(1 for c in cards.values() for agency, _ in approvals(c) if agency == "FDA")


def check_explain_product(kg, cards, results):
    for card_id in ("gendicine", "h101-oncorine"):
        rows = run(kg, "explain-product", product=card_id).records()
        assert [r["conclusion"] for r in rows] == [e["conclusion"] for e in results[card_id]["explanation"]]
        assert [r["order"] for r in rows] == list(range(1, len(rows) + 1))
        assert all(r["source"] for r in rows)
    assert run(kg, "explain-product", product="no-such-product").rows == []


def check_precedents_of_a_product(kg, cards, results):
    rows = run(kg, "precedents-of-a-product", product="tisagenlecleucel").records()
    assert 0 < len(rows) <= 10 and "tisagenlecleucel" not in {pid(r["precedent"]) for r in rows}
    assert [r["shared"] for r in rows] == sorted((r["shared"] for r in rows), reverse=True)
    assert all(0 < r["shared"] <= r["of"] for r in rows) and rows[0]["shared"] == rows[0]["of"]
    # the precedents sharing every class are decided as the product is (same NMPA subclass and tier)
    for r in rows:
        if r["shared"] == r["of"]:
            other = results[pid(r["precedent"])]
            assert (other["nmpa"]["subclass"], other["tianjin"]["risk_tier"]) == (
                results["tisagenlecleucel"]["nmpa"]["subclass"],
                results["tisagenlecleucel"]["tianjin"]["risk_tier"],
            )
    with_decisions = [r for r in rows if (cards[pid(r["precedent"])].get("provenance") or {}).get("decisions")]
    assert all(r["decisions"] == len(cards[pid(r["precedent"])]["provenance"]["decisions"]) for r in with_decisions)
    assert run(kg, "precedents-of-a-product", product="no-such-product").rows == []


def check_investigational_products(kg, cards, results):
    rows = run(kg, "investigational-products").records()
    assert {pid(r["product"]) for r in rows} == {i for i, c in cards.items() if c["provenance"]["status"] == "investigational"}
    for r in rows:
        assert r["subclass"] == results[pid(r["product"])]["nmpa"]["subclass"]
        assert r["tier"] == results[pid(r["product"])]["tianjin"]["risk_tier"]


def check_catalogue_provenance(kg, cards, results):
    rows = run(kg, "catalogue-provenance").records()
    assert {pid(r["product"]) for r in rows} == set(cards)
    assert {(pid(r["product"]), r["agency"], r["year"]) for r in rows if r["agency"]} == {(i, a, y) for i, c in cards.items() for a, y in approvals(c)}
    assert {pid(r["product"]): r["source"] for r in rows} == {i: c["provenance"]["source"] for i, c in cards.items()}
    assert {pid(r["product"]) for r in rows if r["url"]} == {i for i, c in cards.items() if c["provenance"].get("url")}
    one = run(kg, "catalogue-provenance", status="investigational").records()
    assert {r["status"] for r in one} == {"investigational"}


def check_regime_disagreements(kg, cards, results):
    rows = run(kg, "regime-disagreements").records()
    assert {(pid(r["product"]), r["code"]) for r in rows} == {(i, c["code"]) for i, res in results.items() for c in res.get("crosswalk", [])}
    by = {(pid(r["product"]), r["code"]): r for r in rows}
    for i, res in results.items():
        for c in res.get("crosswalk", []):
            assert by[(i, c["code"])]["disagreement"] == c["summary"]["en"]


def check_scope_disagreements(kg, cards, results):
    rows = run(kg, "scope-disagreements", inRegime="n", notInRegime="eu").records()
    assert {pid(r["product"]) for r in rows} == {i for i, res in results.items() if res["atmp"] and "eu" in res and not res["eu"]["atmp"]}
    rows = run(kg, "scope-disagreements", inRegime="eu", notInRegime="n").records()
    assert {pid(r["product"]) for r in rows} == {i for i, res in results.items() if not res["atmp"] and "eu" in res and res["eu"]["atmp"]}


def _decisions(cards, results):
    """Each recorded agency decision with whether the rules reproduce it, computed from the cards and results."""
    from atmp.core.rules import layout

    out = []
    for i, card in cards.items():
        for d in (card.get("provenance") or {}).get("decisions", []):
            out.append((i, d["field"], d["agency"], layout.get(results[i], d["field"]) == d["value"]))
    return out


def check_agency_decisions(kg, cards, results):
    rows = run(kg, "agency-decisions").records()
    expected = _decisions(cards, results)
    assert len(rows) == len(expected)
    assert sorted((pid(r["product"]), r["field"], r["agency"], bool(r["agrees"])) for r in rows) == sorted(expected)


def check_agency_disagreements(kg, cards, results):
    rows = run(kg, "agency-disagreements").records()
    assert sorted((pid(r["product"]), r["field"]) for r in rows) == sorted((i, f) for i, f, _, agrees in _decisions(cards, results) if not agrees)


EXPECTED = {name.removeprefix("check_").replace("_", "-"): check for name, check in dict(globals()).items() if name.startswith("check_")}


def test_at_least_twelve_named_queries_each_with_an_expected_answer_test():
    library = Q.load_queries()
    assert len(library) >= 12
    assert set(library) == set(EXPECTED), "every queries/*.rq needs a check_* here, and every check_* a query"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_query_answers_its_question(name, kg, cards, results):
    EXPECTED[name](kg, cards, results)


# --------------------------------------------------------------------------- headers and parameters


def test_every_query_has_a_header_and_declares_its_parameters():
    for name, query in Q.load_queries().items():
        assert query.title and "?" in query.question, name
        assert "ORDER BY" in query.text, f"{name}: results must come in a fixed order"
        assert "FROM <https://w3id.org/atmp-kg/graph/inferred>" in query.text, f"{name}: name the graphs so it means the same on any server"
        for p in query.parameters:
            assert p.description, (name, p.name)


@pytest.mark.parametrize("name", sorted(PARAM_CASES))
def test_parameter_cases_run_embedded(name, kg):
    for params in PARAM_CASES[name]:
        run(kg, name, **params)


def test_header_parsing():
    text = (
        "# title: T\n# question: What?\n#   More words.\n# param: x (integer, default 3): an int\n# param: y (iri, optional): an iri\nSELECT ?x ?y WHERE { ?y ?p ?x } ORDER BY ?x\n"
    )
    q = Q.parse_query(text, "t")
    assert (q.title, q.question) == ("T", "What? More words.")
    assert [(p.name, p.type, p.required, p.default) for p in q.parameters] == [("x", "integer", False, "3"), ("y", "iri", False, None)]
    assert q.bind({}) == {"x": ox.Literal(3)}
    assert q.bind({"y": "atmp:Product"})["y"] == ox.NamedNode("https://w3id.org/atmp-kg/ontology/Product")
    with pytest.raises(Q.QueryError, match="title"):
        Q.parse_query("SELECT * WHERE {}", "bad")
    with pytest.raises(Q.QueryError, match="does not occur"):
        Q.parse_query("# title: T\n# question: Q?\n# param: z (string): z\nSELECT * WHERE {}", "bad")


@pytest.mark.parametrize(("param", "value"), [("year", "2021; DROP"), ("year", "1e3"), ("jurisdiction", "x" * 2000)])
def test_bad_parameter_values_are_refused(param, value):
    with pytest.raises(Q.QueryError):
        Q.load_queries()["approvals-by-year"].bind({param: value})


@pytest.mark.parametrize("value", ["a b", "http://x/>} ; <y", "javascript:alert(1)>"])
def test_bad_iris_are_refused(value):
    with pytest.raises(Q.QueryError):
        Q.Parameter("x", "iri", True, None, "").term(value)


def test_unknown_and_missing_parameters():
    q = Q.load_queries()["explain-product"]
    with pytest.raises(Q.QueryError, match="needs --param product"):
        q.bind({})
    with pytest.raises(Q.QueryError, match="no parameter 'subclass'"):
        q.bind({"product": "gendicine", "subclass": "x"})
    with pytest.raises(Q.QueryError, match="product card id"):
        q.bind({"product": "../etc/passwd"})
    with pytest.raises(Q.QueryError, match="NAME=VALUE"):
        Q.parse_params(["novalue"])
    assert Q.parse_params(["a=b=c", "d="]) == {"a": "b=c", "d": ""}


# --------------------------------------------------------------------------- injection


@pytest.mark.parametrize("value", INJECTIONS)
def test_quotes_and_braces_in_a_parameter_match_nothing_and_change_nothing(kg, value):
    before = len(kg.store)
    assert run(kg, "products-by-nmpa-subclass", subclass=value).rows == []
    assert run(kg, "rules-mentioning-term", term=value).rows == []
    assert run(kg, "approvals-by-year", jurisdiction=value).rows == []
    assert len(kg.store) == before


@pytest.mark.parametrize("value", INJECTIONS)
def test_remote_binding_keeps_the_query_shape(value):
    """The VALUES-bound text parses to the original algebra plus exactly one row holding the value verbatim."""
    for name, param in (("products-by-nmpa-subclass", "subclass"), ("rules-mentioning-term", "term"), ("approvals-by-year", "jurisdiction")):
        query = Q.load_queries()[name]
        bindings = query.bind({param: value})
        bound = Q.bind_values(query.text, bindings)  # raises unless the shape is unchanged
        from rdflib.plugins.sparql.parserutils import CompValue

        found: list = []

        def walk(node, found=found):
            if isinstance(node, CompValue):
                if node.name == "values":
                    found.append(node["res"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(Q._algebra(bound))
        assert [{str(k): str(v) for k, v in row.items()} for res in found for row in res] == [
            {str(k): (value if k in (param,) else str(bindings[k].value)) for k in sorted(bindings)}
        ]


def test_a_spliced_value_would_be_caught():
    """Text splicing (what this module never does) changes the algebra, and verify_bound refuses it."""
    query = Q.load_queries()["products-by-nmpa-subclass"]
    value = '" } UNION { ?subclassRule ?p ?subclass } #'
    start = Q.where_group_start(query.text)
    spliced = query.text[: start + 1] + f' VALUES ?subclass {{ "{value}" }} ' + query.text[start + 1 :]
    with pytest.raises(Q.QueryError):
        Q.verify_bound(query.text, spliced, {"subclass": ox.Literal(value)})


def test_where_group_is_found_past_strings_comments_and_iris():
    text = "PREFIX e: <http://e/#x> # { not here\nSELECT ?a (CONCAT(\"{\", '''}{''', ?b) AS ?c) FROM <http://g/#1>\nWHERE { ?a e:p ?b }"
    assert text[Q.where_group_start(text) :].startswith("{ ?a e:p ?b }")
    construct = "CONSTRUCT { ?a ?b ?c } WHERE { ?a ?b ?c }"
    assert Q.where_group_start(construct) == construct.index("WHERE") + 6


# --------------------------------------------------------------------------- command line


def cli(*args, timeout=300):
    return subprocess.run([*ATMP_CLI, *args], capture_output=True, timeout=timeout)


@pytest.mark.parametrize(
    "args",
    [
        ["query", "no-such-query"],
        ["query", "products-by-nmpa-subclass", "--param", "colour=red"],
        ["query", "products-by-nmpa-subclass", "--param", "subclass"],
        ["query", "explain-product"],
        ["query", "approvals-by-year", "--param", "year=twenty"],
        ["query", "approvals-by-year", "--endpoint", "http://127.0.0.1:9/query"],
        ["query", "approvals-by-year", "--endpoint", "not a url"],
        ["query", "/no/such/file.rq"],
        ["publish", "--endpoint", "ftp://example.org/store"],
    ],
)
def test_cli_errors_are_one_line_and_exit_2(args):
    proc = cli(*args, timeout=120)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode().strip()
    assert err.startswith("atmp: ") and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_list_and_csv(tmp_path):
    proc = cli("query", "--list", timeout=60)
    assert proc.returncode == 0 and b"products-by-nmpa-subclass" in proc.stdout and b"--param subclass" in proc.stdout
    proc = cli("query", "gene-editing-products", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    edited = [c for c in catalogue_cards() if c["substance"].get("gene_editing_tool") in load_model().grouping("ActualGeneEditingTool")]
    assert lines[0] == "product,label,tool,where,subclass,tier" and len(lines) == 1 + len(edited) and len(edited) >= 5
