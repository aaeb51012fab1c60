"""What-if analysis: variants from the vocabulary, one batch, counterfactuals with their deciding rule, and the CLI."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import pytest
from atmp.analysis.whatif import BOUNDARIES, Change, field_specs, nearest, single_changes, whatif
from atmp.cli import main
from atmp.core.classify import classify_cards
from atmp.core.rules.namespaces import local_name
from atmp.core.rules.resources import schema_file

from .conftest import make_card

# autologous T cells, expanded, homologous, systemic: CTMP, criteria 7 and 9, medium tier
PLAIN_T_CELLS = make_card("plain-t-cells")
# the same cells transduced with a lentiviral vector: ex vivo modified CTMP, criteria 2 and 3, high tier
CAR_T = make_card(
    "car-t",
    substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"},
    process={"manipulations": ["activation", "genetic_modification", "culture_expansion", "washing"]},
    function={"homologous_use": False},
)


@pytest.fixture(scope="module")
def plain_report(model):
    return whatif(PLAIN_T_CELLS, model=model)


@pytest.fixture(scope="module")
def car_t_report(model):
    return whatif(CAR_T, model=model, boundaries=["tier"])


def _option_texts(report: dict, boundary: str, to) -> list[str]:
    return [o["text"] for cf in report["counterfactuals"] if cf["boundary"] == boundary and cf["to"] == to for o in cf["options"]]


def test_variants_come_from_the_vocabulary(model):
    schema = json.loads(schema_file("product-card.schema.json").read_text())
    specs = {s.path: s for s in field_specs(model)}
    assert set(specs) == {p.field for p in model.properties}
    changes = single_changes(PLAIN_T_CELLS, list(specs.values()))
    kinds = {c.value for c in changes if c.field == "substance.kind"}
    assert kinds == set(schema["properties"]["substance"]["properties"]["kind"]["enum"]) - {"cells"}
    manip = schema["properties"]["process"]["properties"]["manipulations"]["items"]["enum"]
    assert {(c.op, c.value) for c in changes if c.field == "process.manipulations"} == (
        {("remove", "culture_expansion"), ("remove", "washing")} | {("add", m) for m in manip if m not in ("culture_expansion", "washing")}
    )
    # booleans flip; "absent" only where the ontology gives absence no value of its own
    assert [c.value for c in changes if c.field == "substance.first_human_use"] == [True]
    assert sorted(map(str, (c.value for c in changes if c.field == "function.homologous_use"))) == ["False", "None"]
    assert [c.value for c in changes if c.field == "substance.cell_type"][-1] is None
    # optional fields the card leaves out can be stated
    assert {c.value for c in changes if c.field == "function.tumorigenic_risk"} == {True, False}


def test_each_variant_answers_what_classify_answers(plain_report, model):
    picked = [e for e in plain_report["changes"] if e["crosses"]][:3] + [e for e in plain_report["changes"] if not e["crosses"]][:2]
    cards = []
    for i, e in enumerate(picked):
        card = copy.deepcopy(PLAIN_T_CELLS)
        card["id"] = f"variant-{i}"  # one batch: ids must differ (they become IRIs)
        for c in e["changes"]:
            Change(c["field"], c["op"], c["value"]).apply(card)
        cards.append(card)
    for e, r in zip(picked, classify_cards(cards, engine="compiled", model=model), strict=True):
        assert e["result"]["tianjin.risk_tier"] == r["tianjin"]["risk_tier"]
        assert e["result"]["nmpa.subclass"] == r["nmpa"]["subclass"]
        assert e["result"]["exclusion"] == r["exclusion"]
        assert e["result"]["criteria"] == r["tianjin"]["criteria"]
        assert e["conforms"] == r["conforms"]


def test_one_field_from_the_high_tier_with_the_deciding_rule(plain_report):
    assert plain_report["result"]["tianjin.risk_tier"] == "medium" and plain_report["result"]["criteria"] == [7, 9]
    to_high = next(cf for cf in plain_report["counterfactuals"] if cf["boundary"] == "tier" and cf["to"] == "high")
    assert to_high["size"] == 1 and "HighRiskProduct" in to_high["rules"]
    texts = {o["text"] for o in to_high["options"]}
    assert {"process.combined_with + drug", "substance.first_human_use: false -> true", "process.manipulations + reprogramming"} <= texts
    option = next(o for o in to_high["options"] if o["text"] == "process.combined_with + drug")
    assert option["conforms"] and option["criteria"] == [5, 7, 9]
    assert option["rule"]["source"].startswith("T 6") and option["rule"]["label"]["zh"]
    assert any(b.get("rule") == "Criterion05Met" for b in option["because"])
    # out of N in one step: washing alone is no substantial manipulation
    assert "process.manipulations - culture_expansion" in _option_texts(plain_report, "exclusion", "no_substantial_manipulation")
    # down to low takes two (criterion 9, systemic effect, keeps it medium): found by the bounded pair search
    to_low = next(cf for cf in plain_report["counterfactuals"] if cf["boundary"] == "tier" and cf["to"] == "low")
    assert to_low["size"] == 2 and to_low["coherent_options"] >= 1
    assert "process.manipulations - culture_expansion; function.systemic_effect: true -> false" in _option_texts(plain_report, "tier", "low")


def test_table_and_nearest_summary(plain_report, model):
    from atmp.analysis.whatif import render_table

    text = render_table(plain_report, model)
    assert "Smallest changes across each boundary" in text and "Every single-field change" in text
    assert "medium risk (Tianjin) -> high risk (Tianjin)" in text and "high risk (Tianjin) (T 6" in text  # the deciding rule by its label
    assert "combined with: add drug" in text
    rows = nearest(plain_report)
    assert {r["boundary"] for r in rows} <= set(BOUNDARIES)
    assert any(r["boundary"] == "tier" and r["to"] == "high" and "process.combined_with + drug" in r["changes"] for r in rows)


def test_the_table_says_labels_not_codes(plain_report, model):
    """Words for people: no code of the card or of a result appears in either language's table (the JSON keeps them)."""
    from atmp.analysis.whatif import render_table

    codes = {str(rc.code) for rc in model.result_classes if rc.code and "_" in str(rc.code)}
    codes |= {code for p in model.properties for code in p.codes if "_" in code}
    codes |= {p.field for p in model.properties}
    codes |= {local_name(rc.iri) for rc in model.result_classes}  # a deciding rule by its class name
    assert {"culture_expansion", "process.combined_with", "HighRiskProduct"} <= codes  # the check looks for real codes
    for lang in ("en", "zh"):
        text = render_table(plain_report, model, lang=lang)
        shown = {c for c in codes if re.search(rf"(?<![\w.]){re.escape(c)}(?![\w])", text)}
        assert not shown, (lang, sorted(shown)[:10])
    zh = render_table(plain_report, model, lang="zh")
    assert "跨越各分类边界的最小改动" in zh and "中风险（天津） -> 高风险（天津）" in zh
    english_only = {**plain_report, "label": {"en": "Plain T cells"}}
    assert render_table(english_only, model, lang="zh").splitlines()[0] == "Plain T cells"  # its name, not its id


def test_frames_for_notebooks(plain_report):
    from atmp.analysis.whatif import changes_frame, counterfactuals_frame

    changes = changes_frame(plain_report)
    assert len(changes) == plain_report["variants"] and "字段" in changes.columns
    assert changes.loc[changes.change == "process.combined_with + drug", "criteria +"].item() == "5"
    cf = counterfactuals_frame(plain_report)
    row = cf[(cf.boundary == "tier") & (cf.change == "process.combined_with + drug")].iloc[0]
    assert row["rule"] == "HighRiskProduct" and row["规则"] and row["coherent"]


def test_flipping_a_field_back_reproduces_the_original(plain_report, model):
    flipped = make_card("plain-t-cells", substance={"first_human_use": True})
    report = whatif(flipped, model=model, max_pairs=0)
    assert report["result"]["tianjin.risk_tier"] == "high"
    back = next(e for e in report["changes"] if e["text"] == "substance.first_human_use: true -> false")
    original = plain_report["result"]
    assert {k: back["result"][k] for k in back["result"]} == {k: original[k] for k in back["result"]}


def test_two_field_changes_where_no_single_change_reaches_the_next_tier(car_t_report):
    assert car_t_report["result"]["tianjin.risk_tier"] == "high"
    assert set(car_t_report["result"]["criteria"]) >= {2, 3}
    medium = [cf for cf in car_t_report["counterfactuals"] if cf["to"] == "medium"]
    assert medium and all(cf["size"] == 2 for cf in medium), "criteria 2 and 3 hold on separate facts: one change cannot drop both"
    assert car_t_report["pairs"]["searched"] and car_t_report["pairs"]["pairs"] <= 150
    texts = {frozenset(t.split("; ")) for t in _option_texts(car_t_report, "tier", "medium")}
    assert frozenset({"substance.payload: genetic_material -> none", "process.manipulations - genetic_modification"}) in texts
    assert {cf["boundary"] for cf in car_t_report["counterfactuals"]} == {"tier"}


def test_variants_the_schema_refuses_are_skipped(model):
    card = make_card("one-mechanism")
    report = whatif(card, model=model, boundaries=["exclusion"], max_pairs=0)
    assert any("function.mechanism - immunological" in s["text"] and "mechanism" in s["reason"] for s in report["skipped"])
    assert all("function.mechanism - immunological" != e["text"] for e in report["changes"])


# -- command line ------------------------------------------------------------------------------------


def run(args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atmp.cli", *args], input=stdin.encode() if stdin else None, capture_output=True, timeout=300)


def test_cli_json_and_table(tmp_path, capsys, plain_report):
    path = tmp_path / "card.json"
    path.write_text(json.dumps([make_card("other"), PLAIN_T_CELLS]))
    assert main(["whatif", str(path), "--id", "plain-t-cells", "--boundary", "tier", "--max-pairs", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"] == "plain-t-cells" and out["boundaries"] == ["tier"]
    assert out["variants"] == plain_report["variants"]
    assert {cf["boundary"] for cf in out["counterfactuals"]} == {"tier"}
    assert main(["whatif", str(path), "--id", "plain-t-cells", "--format", "table", "--brief", "--max-pairs", "0"]) == 0
    text = capsys.readouterr().out
    assert "medium risk (Tianjin) -> high risk (Tianjin)" in text and "Every single-field change" not in text


@pytest.mark.parametrize(
    ("stdin", "args", "needle"),
    [
        (json.dumps([make_card("a"), make_card("b")]), [], "pick one with --id"),
        (json.dumps([make_card("a"), make_card("b")]), ["--id", "c"], "id: no card with id 'c'"),
        (json.dumps(make_card("a", substance={"kind": "cell"})), [], "substance.kind: unknown code"),
        ("{not json", [], "invalid JSON"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(stdin, args, needle):
    proc = run(["whatif", "-", *args], stdin)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode()
    assert needle in err and len(err.strip().splitlines()) == 1 and not proc.stdout


@pytest.mark.parametrize("card", [PLAIN_T_CELLS, CAR_T], ids=["plain-t-cells", "car-t"])
def test_ranking_lists_each_change_once_with_every_boundary_it_crosses_in_the_sponsors_order(model, card):
    """One entry per change; its boundaries are all those the change crosses; plausible changes (coherent, same kind
    of product) first, then those staying in every scope, then by the first boundary in RANK_ORDER, size, count."""
    from atmp.analysis.whatif import RANK_ORDER, nature_fields

    report = whatif(card, model=model)
    ranked = report["ranked"]
    texts = [e["text"] for e in ranked]
    assert ranked and len(texts) == len(set(texts))
    # every option of every counterfactual is in the ranking, under every boundary it was found for
    for cf in report["counterfactuals"]:
        for o in cf["options"]:
            (entry,) = [e for e in ranked if e["text"] == o["text"]]
            assert any(x["boundary"] == cf["boundary"] and x["to"] == cf["to"] for x in entry["crosses"])
    # a single change lists exactly the boundaries it crosses (the variant's own summary)
    singles = {e["text"]: e for e in report["changes"]}
    for entry in ranked:
        if entry["size"] == 1:
            assert [x["boundary"] for x in entry["crosses"]] == [b for b in BOUNDARIES if b in singles[entry["text"]]["crosses"]]
    # the nature of the product is the schema's required substance fields
    schema = json.loads(schema_file("product-card.schema.json").read_text())
    assert nature_fields() == tuple(f"substance.{k}" for k in schema["properties"]["substance"]["required"])
    for e in ranked:
        assert e["keeps_nature"] == (not any(c["field"] in nature_fields() for c in e["changes"]))
        assert e["plausible"] == (e["conforms"] and e["keeps_nature"])

    def key(e):
        crossed = [x["boundary"] for x in e["crosses"]]
        leaves = "exclusion" in crossed or any(x["to"] is None for x in e["crosses"])
        return (not e["plausible"], leaves, min(RANK_ORDER.index(b) for b in crossed), e["size"], len(crossed))

    keys = [key(e) for e in ranked]
    assert keys == sorted(keys)
    assert ranked[0]["plausible"]  # the head is a change a sponsor could make


def test_the_endpoint_and_the_report_show_the_same_head_of_the_ranking(model):
    """The workbench's list (POST /whatif) and the report's nearest boundaries are one ranking: the coherent
    entries in order; the report shows the first ten, as the page does before "more"."""
    from atmp.analysis.report import NEAREST_SHOWN, gather

    report = whatif(CAR_T, model=model)
    (data,) = gather([CAR_T], model=model)
    coherent = [e["text"] for e in report["ranked"] if e["conforms"]]
    assert [e["text"] for e in data.nearest] == coherent[:NEAREST_SHOWN]
