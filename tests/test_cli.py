"""The ``atmp`` command line as a user meets it: output formats, stdin, and every kind of bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema
import pytest
from atmp.core.rules.resources import schema_file

from .conftest import FIXTURES, make_card

ATMP = [sys.executable, "-m", "atmp.cli"]


def run(args, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([*ATMP, *args], input=data, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def result_schema():
    return json.loads(schema_file("result.schema.json").read_text())


def test_one_card_from_stdin_gives_one_result(result_schema):
    proc = run(["classify", "-", "--engine", "compiled"], json.dumps(make_card("one")))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert isinstance(out, dict) and out["id"] == "one"
    jsonschema.validate(out, result_schema)


def test_array_gives_array_in_the_same_order_with_hermit(result_schema):
    cards = [make_card("b-second"), make_card("a-first", process={"manipulations": ["washing"]})]
    proc = run(["classify", "-"], json.dumps(cards))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["id"] for r in out] == ["b-second", "a-first"]
    for r in out:
        jsonschema.validate(r, result_schema)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_table_format_speaks_in_labels_with_a_legend_of_the_criteria(lang):
    """`make demo`'s table: every card on a line, each conclusion by its ontology label in --lang (no result code),
    the criteria by number and, under the table, a legend naming each criterion met with its label and citation."""
    from atmp.analysis.sources import source_text
    from atmp.core.rules.ontology import load_model

    path = FIXTURES / "examples" / "cards.json"
    proc = run(["classify", str(path), "--format", "table", "--engine", "compiled", "--lang", lang])
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    table, _, legend = text.partition("\n\n")
    results = json.loads(run(["classify", str(path), "--explain", "none"]).stdout)
    assert len(table.strip().splitlines()) == 2 + len(results)
    model = load_model()
    by_code = {(rc.field, rc.code): rc for rc in model.result_classes if rc.code}
    codes = {rc.code for rc in model.result_classes if rc.code and "_" in rc.code}
    assert not [c for c in codes if c in table], "a result code in the table"
    for r in results:
        field, code = ("nmpa.subclass", r["nmpa"]["subclass"]) if r["atmp"] else ("exclusion", r["exclusion"])
        assert by_code[(field, code)].label[lang] in table
    met = sorted({n for r in results for n in r["tianjin"]["criteria"]})
    by_number = {rc.number: rc for rc in model.result_classes if rc.number is not None}
    lines = legend.strip().splitlines()[1:]
    assert [int(line.split()[0]) for line in lines] == met
    for n, line in zip(met, lines, strict=True):
        assert by_number[n].label[lang] in line and source_text(model, by_number[n].source, lang) in line


def test_progress_bar_goes_to_stderr_only():
    cards = [make_card(f"c{i}") for i in range(25)]
    proc = run(["classify", "-", "--engine", "compiled", "--progress"], json.dumps(cards))
    assert proc.returncode == 0
    assert b"25/25" in proc.stderr
    assert len(json.loads(proc.stdout)) == 25


def _bad(**kw):
    card = make_card("bad")
    for section, fields in kw.items():
        card[section].update(fields)
    return card


BAD_INPUTS = [
    ("invalid JSON", '{"id": "x",', "invalid JSON at line 1"),
    ("missing field", json.dumps({k: v for k, v in make_card("m").items() if k != "function"}), "function: required field is missing"),
    ("missing nested field", json.dumps(_bad(substance={"kind": None}) | {"substance": {"cell_type": "t_cell"}}), "substance.kind: required field is missing"),
    ("unknown code", json.dumps(_bad(substance={"kind": "cell"})), 'substance.kind: unknown code "cell"'),
    ("unknown manipulation", json.dumps(_bad(process={"manipulations": ["washing", "magic"]})), "process.manipulations[1]: unknown code"),
    ("wrong type", json.dumps(_bad(function={"homologous_use": "yes"})), "function.homologous_use: wrong type"),
    ("oversized label", json.dumps(make_card("big") | {"label": {"en": "x" * 600}}), "label.en: string too long"),
    ("oversized extra string", json.dumps(make_card("big") | {"note": "x" * 10000}), "note: string too long"),
    ("id with slash", json.dumps(make_card("a/b")), "id:"),
    ("id with dot-dot", json.dumps(make_card("a..b")), 'id: "a..b" must not contain'),
    ("not an object", "42", "must be a JSON object"),
    ("empty array", "[]", "empty array"),
    ("not UTF-8", b"\xff\xfe{", "not UTF-8"),
]


@pytest.mark.parametrize("name,payload,needle", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_naming_the_field(name, payload, needle):
    proc = run(["classify", "-"], payload)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert needle in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert proc.stdout == b""


def test_one_bad_card_in_a_batch_names_its_index_and_nothing_is_printed():
    cards = [make_card("ok1"), make_card("ok2"), _bad(substance={"origin": "martian"})]
    proc = run(["classify", "-"], json.dumps(cards))
    assert proc.returncode == 2
    assert "[2].substance.origin" in proc.stderr.decode()
    assert proc.stdout == b""


def test_duplicate_ids_in_a_batch_are_refused():
    proc = run(["classify", "-"], json.dumps([make_card("same"), make_card("same")]))
    assert proc.returncode == 2 and "[1].id: duplicate id" in proc.stderr.decode()


def test_missing_file_exits_2():
    proc = run(["classify", "/nonexistent/cards.json"])
    assert proc.returncode == 2 and "no such file" in proc.stderr.decode()


def test_context_is_valid_jsonld_for_cards(model):
    from rdflib import Graph

    proc = run(["context"])
    ctx = json.loads(proc.stdout)
    doc = dict(ctx) | make_card("ctx-card")
    g = Graph().parse(data=json.dumps(doc), format="json-ld")
    from atmp.core.card.facts import ATMP, product_iri

    s = product_iri("ctx-card")
    assert (s, ATMP.hasSubstanceKind, ATMP.kind_cells) in g
    assert (s, ATMP.hasManipulation, ATMP.manip_culture_expansion) in g


def test_an_inconsistent_card_still_gets_its_classification_with_violations():
    card = make_card("no-origin", substance={"origin": "not_applicable", "cell_type": ...})
    proc = run(["classify", "-"], json.dumps(card))
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["conforms"] is False
    assert {v["code"] for v in r["violations"]} >= {"cells_need_cell_type", "cells_need_origin"}
    assert all(v["message"]["en"] and v["message"]["zh"] and v["path"] for v in r["violations"])
    assert r["nmpa"]["subclass"] == "non_genetically_modified_ctmp"


# --------------------------------------------------------------------------------------------- atmp validate


def test_validate_conforming_card_exits_0_with_reasoned_warnings():
    car_t = make_card(
        "car-t", substance={"payload": "genetic_material", "nucleic_acid": "dna", "vector": "lentivirus"}, process={"manipulations": ["genetic_modification", "culture_expansion"]}
    )
    proc = run(["validate", "-", "--engine", "compiled"], json.dumps(car_t))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["id"] == "car-t" and out["conforms"] is True and out["violations"] == []
    assert "priority_ex_vivo_ctmp_over_gtmp" in {w["code"] for w in out["warnings"]}


def test_validate_inconsistent_batch_exits_1_naming_card_and_field():
    cards = [make_card("fine"), make_card("no-type", substance={"cell_type": None})]
    proc = run(["validate", "-", "--engine", "compiled"], json.dumps(cards))
    assert proc.returncode == 1, proc.stderr
    fine, bad = json.loads(proc.stdout)
    assert fine["conforms"] is True and bad["conforms"] is False
    (violation,) = bad["violations"]
    assert violation["path"] == "substance.cell_type" and violation["code"] == "cells_need_cell_type"
    assert violation["message"]["zh"] and violation["message"]["en"] and violation["source"]


def test_validate_turtle_is_a_standard_bilingual_report():
    from rdflib import RDF, Graph, Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    proc = run(["validate", "-", "--format", "turtle", "--engine", "compiled"], json.dumps(make_card("x", process={"manipulations": ["gene_editing"]})))
    assert proc.returncode == 1, proc.stderr
    report = Graph().parse(data=proc.stdout.decode(), format="turtle")
    (node,) = report.subjects(RDF.type, sh.ValidationReport)
    assert report.value(node, sh.conforms).toPython() is False
    results = list(report.objects(node, sh.result))
    violations = [r for r in results if report.value(r, sh.resultSeverity) == sh.Violation]
    assert violations, "gene_editing without a tool must be reported"
    for r in results:
        assert {m.language for m in report.objects(r, sh.resultMessage)} == {"en", "zh"}


@pytest.mark.parametrize("args", [["validate", "/nonexistent.json"], ["validate", "-"]], ids=["missing-file", "bad-json"])
def test_validate_bad_input_exits_2(args):
    proc = run(args, "{not json")
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("atmp:") and b"Traceback" not in proc.stderr


def test_serve_says_where_the_workbench_is():
    """`atmp serve` names the workbench's address (/) and the API documentation first, at any log level."""
    import os
    import select
    import time

    from .service_support import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "atmp", "serve", "--port", str(port), "--log-level", "critical", "--sparql-workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # raw reads of the pipe: readline() on the text wrapper may buffer the second line, which select then never sees
        said, deadline, fd = "", time.monotonic() + 90, proc.stderr.fileno()
        while "API documentation" not in said and time.monotonic() < deadline and proc.poll() is None:
            if select.select([fd], [], [], 1.0)[0]:
                said += os.read(fd, 65536).decode("utf-8", "replace")
        assert f"workbench: http://127.0.0.1:{port}/ " in said, said
        assert f"http://127.0.0.1:{port}/docs" in said
    finally:
        proc.terminate()
        proc.wait(15)


# ============================================================================ issue 32: every error says what to type instead
REGEX = ("^[", "]{", "{0,", "$", "\\d", "[A-Za-z")


def test_exit_2_names_every_problem_with_what_to_type_instead():
    """A card with a mistyped kind, field and manipulation and an id with a space: one line, every problem, each
    with the nearest valid value (codes by spelling, the id by the id's rule), no regular expression."""
    card = make_card("my product", substance={"kind": "cell", "orign": "autologous"}, process={"manipulations": ["culture-expansion"]})
    proc = run(["classify", "-"], json.dumps(card))
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    line = proc.stderr.decode()
    assert line.count("\n") == 1 and line.startswith("atmp: invalid input: ")
    assert 'did you mean "cells"' in line and 'did you mean "culture_expansion"' in line and "did you mean substance.origin?" in line
    assert '"my-product"' in line and "letters, digits" in line
    assert not [r for r in REGEX if r in line], line


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_code_is_suggested_by_its_spelling_and_by_its_label_in_either_language(model, lang):
    """Every code of every card field the ontology labels is found again from a respelling and from its label."""
    from atmp.core.card.schema import suggest_code

    for prop in model.properties:
        codes = list(prop.codes)
        for code in codes:
            label = model.label(prop.codes[code]).get(lang)
            assert suggest_code(prop.field, code.replace("_", "-").upper(), codes)[0] == code
            if label and sum(model.label(prop.codes[c]).get(lang) == label for c in codes) == 1:  # a label of one code only
                assert suggest_code(prop.field, label, codes)[0] == code, (prop.field, label)


def test_the_nearest_valid_value_matches_the_pattern():
    from atmp.core.card.schema import nearest_match
    from atmp.core.rules.resources import CARD_SCHEMA, schema

    pattern = schema(CARD_SCHEMA)["properties"]["id"]["pattern"]
    for typed in ("my product", " -leading dash", "产品 1 (v2)", "a/b..c", "x" * 300, "ok-id"):
        nearest = nearest_match(pattern, typed, 128)
        if typed == "ok-id":
            assert nearest is None  # already valid: nothing to suggest
        else:
            assert nearest and re.fullmatch(pattern, nearest), (typed, nearest)
