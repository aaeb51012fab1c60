"""The crosswalk in the knowledge graph: published agency decisions vs the rules, the crosswalk queries, and
rule-edit drills on the regime modules (an edited copy of ontology/src/*.ttl changes the answers)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from atmp.core.card.schema import CardError
from atmp.core.classify import classify_cards
from atmp.core.rules.ontology import ATMP, load_model
from atmp.core.rules.resources import ontology_file
from atmp.kg import queries as Q
from atmp.kg.catalogue import check_provenance, load_vocabulary
from atmp.kg.terms import term_value as tv
from rdflib import OWL, Graph
from rdflib.collection import Collection

from .conftest import ROOT, make_card
from .kg_support import catalogue_graph


def rows(name: str, **params) -> list[dict]:
    result = Q.run(Q.load_queries()[name], params, graph=catalogue_graph())
    return [{k: tv(v) for k, v in row.items()} for row in result.rows]


# ----------------------------------------------------------------------------- published decisions


def test_published_decisions_agree_or_are_explained():
    """Every recorded agency decision is either reproduced by the rules or carries its known limit, and no
    known limit is kept for a decision the rules now reproduce (so the notes cannot go stale)."""
    decisions = rows("agency-decisions")
    assert len(decisions) >= 100
    tally = Counter((d["agency"], d["agrees"]) for d in decisions)
    print("agreement per agency:", dict(tally))
    for d in decisions:
        if d["agrees"]:
            assert "knownLimit" not in d, f"{d['product']} {d['field']}: a known limit is recorded but the rules now agree"
        else:
            assert d.get("knownLimit"), f"{d['product']} {d['field']}: agency says {d['decided']}, rules say {d['inferred']}, and no known limit explains it"
    assert {d["product"] for d in rows("agency-disagreements")} == {d["product"] for d in decisions if not d["agrees"]}


def test_the_disagreement_query_sees_a_decision_the_rules_do_not_reproduce():
    """The query is not vacuous: flip one recorded decision and it is reported."""
    from atmp.kg.catalogue import load_catalogue
    from atmp.kg.store import KnowledgeGraph

    cards = [json.loads(json.dumps(c)) for c in load_catalogue()]
    zalmoxis = next(c for c in cards if c["id"] == "zalmoxis")
    zalmoxis["provenance"]["decisions"][0]["value"] = "GTMP"
    graph = KnowledgeGraph.build(cards=[c for c in cards if c["id"] in ("zalmoxis", "maci")])
    result = Q.run(Q.load_queries()["agency-disagreements"], {}, graph=graph)
    found = [{k: tv(v) for k, v in r.items()} for r in result.rows]
    assert [(r["field"], r["decided"], r["inferred"]) for r in found] == [("eu.class", "GTMP", "sCTMP")]


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        ({"field": "eu.klass", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "published"}, "provenance.decisions[0].field"),
        ({"field": "eu.class", "value": "ATMP", "agency": "EMA", "source": "x", "certainty": "published"}, "provenance.decisions[0].value"),
        ({"field": "us.gene_therapy", "value": "yes", "agency": "FDA", "source": "x", "certainty": "published"}, "provenance.decisions[0].value"),
        ({"field": "eu.class", "value": "GTMP", "agency": "CAT", "source": "x", "certainty": "published"}, "provenance.decisions[0].agency"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "", "certainty": "published"}, "provenance.decisions[0].source"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "sure"}, "provenance.decisions[0].certainty"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "published", "note": 1}, "provenance.decisions[0].note"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "published", "year": "2018"}, "provenance.decisions[0].year"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "published", "year": True}, "provenance.decisions[0].year"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "published", "year": 1850}, "provenance.decisions[0].year"),
        ({"field": "eu.class", "value": "GTMP", "agency": "EMA", "source": "x", "certainty": "published", "year": 2018.0}, "provenance.decisions[0].year"),
    ],
)
def test_bad_decisions_are_refused_naming_the_field(decision, field):
    card = {"id": "x", "provenance": {"source": "s", "status": "approved", "agency": "EMA", "year": 2020, "decisions": [decision]}}
    with pytest.raises(CardError) as err:
        check_provenance(card, load_vocabulary())
    assert err.value.field == field


def test_a_decision_year_is_accepted_and_in_the_graph():
    """A decision's year (int 1900-2100, like approvals[].year) passes the check and becomes kg:year of the
    decision, which the agency-decisions query returns."""
    from atmp.kg.store import KnowledgeGraph

    card = make_card("x")
    card["provenance"] = {
        "source": "s",
        "status": "approved",
        "agency": "EMA",
        "year": 2020,
        "decisions": [{"field": "eu.atmp", "value": True, "agency": "EMA", "source": "x", "certainty": "published", "year": 2019}],
    }
    check_provenance(card, load_vocabulary())
    result = Q.run(Q.load_queries()["agency-decisions"], {}, graph=KnowledgeGraph.build(cards=[card]))
    found = [{k: tv(v) for k, v in r.items()} for r in result.rows]
    assert [(r["field"], r["year"]) for r in found] == [("eu.atmp", 2019)]


# ----------------------------------------------------------------------------- crosswalk queries


def test_regime_disagreement_queries():
    car_t = [r for r in rows("regime-disagreements", axis="class") if r["product"].endswith("/tisagenlecleucel")]
    assert {r["code"] for r in car_t} == {"xw_n_ctmp_eu_gtmp", "xw_n_ctmp_us_gene_therapy"}
    assert {r["disagreement"] for r in car_t} == {"N: CTMP; EU: GTMP", "N: CTMP; US: gene therapy"}
    # every crosswalk entry of a result is a row of the query, and no other
    graph = catalogue_graph()
    expected = {(pid.rsplit("/", 1)[-1], c["code"]) for pid, r in ((p, graph.results[p]) for p in graph.results) for c in r["crosswalk"]}
    got = {(r["product"].rsplit("/", 1)[-1], r["code"]) for r in rows("regime-disagreements")}
    assert got == expected


def test_scope_disagreement_query_for_a_pair():
    pair = rows("scope-disagreements", inRegime="n", notInRegime="eu")
    ids = {r["product"].rsplit("/", 1)[-1] for r in pair}
    graph = catalogue_graph()
    assert ids == {i for i, r in graph.results.items() if r["atmp"] and not r["eu"]["atmp"]}
    assert "nusinersen" in ids and {(r["inRegime"], r["notInRegime"]) for r in pair} == {("n", "eu")}
    both_ways = rows("scope-disagreements")
    assert {(r["inRegime"], r["notInRegime"]) for r in both_ways} >= {("n", "eu"), ("n", "us"), ("us", "n")}


# ----------------------------------------------------------------------------- rule-edit drills


def _copy_ontology(tmp: Path) -> Path:
    """A private copy of the ontology folder; edit its ``src/`` modules, then :func:`_built` merges them."""
    src = ontology_file().parent
    for sub in ("src", "templates", "components"):
        shutil.copytree(src / sub, tmp / sub)
    shutil.copy(src / "atmp.ttl", tmp / "atmp.ttl")
    return tmp / "atmp.ttl"


def _built(path: Path) -> Path:
    """Rebuild the copy's merged ``atmp.ttl`` from its edited sources, as ``make build-ontology`` does."""
    from atmp.authoring.build import Layout, build

    build(Layout(path.parent))
    return path


def _move(g: Graph, code, from_cls, to_cls) -> None:
    for cls, add in ((from_cls, False), (to_cls, True)):
        coll = Collection(g, g.value(g.value(cls, OWL.equivalentClass), OWL.oneOf))
        items = [i for i in coll if i != code] + ([code] if add else [])
        coll.clear()
        for i in items:
            coll.append(i)


def test_drill_eu_sorting_becomes_substantial(tmp_path):
    path = _copy_ontology(tmp_path)
    eu = tmp_path / "src" / "eu.ttl"
    g = Graph().parse(eu)
    _move(g, ATMP.manip_sorting_or_purification, ATMP.EuNotSubstantialManipulation, ATMP.EuSubstantialManipulation)
    g.serialize(eu, format="turtle")
    _built(path)
    card = make_card("sorted", process={"manipulations": ["sorting_or_purification", "washing"]}, function={"homologous_use": True})
    before = classify_cards([card])[0]
    args = [sys.executable, "-m", "atmp.cli", "--ontology", str(path), "classify", "-"]
    proc = subprocess.run(args, input=json.dumps([card]).encode(), capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    after = json.loads(proc.stdout)[0]
    assert (before["eu"]["class"], after["eu"]["class"]) == (None, "sCTMP")
    assert "xw_n_atmp_eu_not" in {c["code"] for c in before["crosswalk"]} - {c["code"] for c in after["crosswalk"]}
    assert {k: after[k] for k in ("atmp", "nmpa", "tianjin")} == {k: before[k] for k in ("atmp", "nmpa", "tianjin")}


def test_drill_us_culture_no_longer_alters_cells(tmp_path):
    path = _copy_ontology(tmp_path)
    us = tmp_path / "src" / "us.ttl"
    g = Graph().parse(us)
    coll = Collection(g, g.value(g.value(ATMP.UsCellAlteringManipulation, OWL.equivalentClass), OWL.oneOf))
    items = [i for i in coll if i != ATMP.manip_culture_expansion]
    coll.clear()
    for i in items:
        coll.append(i)
    g.serialize(us, format="turtle")
    _built(path)
    card = make_card("cultured-autologous", function={"homologous_use": True, "systemic_effect": False})
    before = classify_cards([card])[0]["us"]["pathway"]
    after = classify_cards([card], model=load_model(path))[0]["us"]["pathway"]
    assert (before, after) == ("351_bla", "361_hct_p")


def test_drill_jp_allogeneic_no_longer_class_i(tmp_path):
    path = _copy_ontology(tmp_path)
    jp = tmp_path / "src" / "jp.ttl"
    allo = "[ a owl:Restriction ; owl:onProperty atmp:hasOrigin ; owl:hasValue atmp:origin_allogeneic ] "
    original = jp.read_text(encoding="utf-8")
    assert original.count(allo) == 1
    text = original.replace(allo, "")
    jp.write_text(text, encoding="utf-8")
    _built(path)
    card = make_card("allo-msc", substance={"origin": "allogeneic", "cell_type": "mesenchymal_stromal_cell"})
    assert classify_cards([card])[0]["jp"]["asrm_class"] == "I"
    assert classify_cards([card], model=load_model(path))[0]["jp"]["asrm_class"] == "II"


def test_a_module_counts_only_when_imported(tmp_path):
    path = _copy_ontology(tmp_path)
    edit = tmp_path / "src" / "atmp-edit.ttl"
    original = edit.read_text(encoding="utf-8")
    jp_import = "        atmp:jp,\n"  # as `make normalize` writes the import list
    assert original.count(jp_import) == 1
    edit.write_text(original.replace(jp_import, ""), encoding="utf-8")
    result = classify_cards([make_card("c")], model=load_model(_built(path)))[0]
    assert "jp" not in result and "eu" in result
    assert not any("jp" in c["regimes"] for c in result["crosswalk"])
    edit.write_text(original.replace("        atmp:eu,\n", "        atmp:uk,\n"), encoding="utf-8")
    from atmp.authoring.build import BuildError

    with pytest.raises(BuildError, match="uk"):
        _built(path)


def test_hermit_sees_the_modules(model):
    """The reference reasoner is given the merged graph: its memberships include the regime classes."""
    from atmp.core.card.facts import card_facts
    from atmp.core.engines.reasoner import warm_hermit

    card = json.loads((ROOT / "catalogue" / "products.json").read_text())[0]
    members = warm_hermit(model).memberships(card_facts(model, card), [ATMP.EuGeneTherapyMedicinalProduct, ATMP.UsSection351Biologic, ATMP.JpAsrmClassI])
    assert members == {ATMP.EuGeneTherapyMedicinalProduct, ATMP.UsSection351Biologic, ATMP.JpAsrmClassI}
