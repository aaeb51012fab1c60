"""Issue 34, items 2, 3 and 6: one decoder for every input path, bounded reads of rule and card files, full field paths.

The same malformed cards go through every way a card comes in — a JSON file and standard input of the command
line, a line of a ``.jsonl`` file, an HTTP body (alone and in an array), the workbench's file upload — and each
must be refused with the same words naming the same field (and, for JSON Lines, the line). Rule files that are
not regular files (``/dev/zero``, a FIFO) or are too large are refused with exit 2 at once; the commands run
under a memory limit and a time-out, so a regression fails instead of filling the machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from atmp.cli import main
from atmp.core.card.decode import MAX_DEPTH, MAX_INT_DIGITS
from atmp.core.rules.files import MAX_RULE_FILE_BYTES
from atmp.http.app import Settings, create_app
from fastapi.testclient import TestClient

from tests.conftest import ROOT, make_card


def _with(card: dict, section: str, text: str) -> str:
    """The card's JSON with ``text`` put first inside ``section``'s object (a key written twice survives only as text)."""
    raw = json.dumps(card)
    marker = f'"{section}": {{'
    assert marker in raw
    return raw.replace(marker, marker + text + ", ", 1)


GOOD = make_card("good")
DEEP = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
# (name, card text, field named, words of the message)
MALFORMED = [
    ("nested duplicate", _with(make_card("d"), "substance", '"kind": "vector"'), "substance.kind", "duplicate key"),
    ("top-level duplicate", json.dumps(make_card("t"))[:-1] + ', "id": "other"}', "id", "duplicate key"),
    ("NaN", _with(make_card("n"), "function", '"extra": NaN'), "function.extra", "NaN is not a JSON number"),
    ("Infinity in a list", _with(make_card("i"), "process", '"extra": [1, -Infinity]'), "process.extra[1]", "-Infinity is not a JSON number"),
    ("overflowing float", _with(make_card("f"), "function", '"extra": 1e999'), "function.extra", "too large to be finite"),
    ("huge integer", json.dumps({**make_card("h"), "provenance": {"year": 10 ** (MAX_INT_DIGITS + 20)}}), "provenance.year", f"integer with {MAX_INT_DIGITS + 21} digits"),
    ("deep nesting", json.dumps(make_card("p"))[:-1] + f', "provenance": {{"notes": {DEEP}}}}}', "provenance.notes" + "[0]" * (MAX_DEPTH - 2), "nested too deeply"),
    ("lone surrogate", json.dumps({**make_card("s"), "label": {"en": "x"}}).replace('"x"', '"x\\ud800"'), "label.en", "lone surrogate"),
    ("lone surrogate in a key", _with(make_card("k"), "function", '"a\\udfff": 1'), "function.a\\udfff", "key contains a lone surrogate"),
]
IDS = [m[0] for m in MALFORMED]


def run_cli(*args: str, stdin: bytes = b"") -> tuple[int, str]:
    """``atmp ARGS`` in this process (the real command, its real exit status and standard error)."""
    err = io.StringIO()
    stdin_stream = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    old = sys.stdin
    sys.stdin = stdin_stream
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
            code = main(list(args))
    finally:
        sys.stdin = old
    return code, err.getvalue()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(sparql_workers=1, max_batch=20))) as c:
        yield c


@pytest.mark.parametrize(("name", "text", "field", "words"), MALFORMED, ids=IDS)
def test_every_input_path_refuses_alike_naming_the_field(client, tmp_path, name, text, field, words):
    expected = f"{field}: "
    # the command line: a JSON file, standard input, a .jsonl line (the second line)
    path = tmp_path / "card.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for args, stdin in ((("classify", str(path)), b""), (("classify", "-"), text.encode("utf-8", "surrogatepass"))):
        code, err = run_cli(*args, stdin=stdin)
        assert code == 2 and f"atmp: invalid input: {expected}" in err and words in err, (args, err)
    lines = tmp_path / "cards.jsonl"
    lines.write_bytes(json.dumps(GOOD).encode() + b"\n" + text.encode("utf-8", "surrogatepass") + b"\n")
    code, err = run_cli("classify", str(lines))
    assert code == 2 and f"line 2: {expected}" in err and words in err, err
    # HTTP: one card, the card second in an array, the workbench's upload
    loc = [*("body",), *_loc(field)]
    body = text.encode("utf-8", "surrogatepass")
    for url, payload, want in (
        ("/classify", body, loc),
        # in an array the card is one level deeper, so the depth limit is reached one level sooner
        ("/validate", b"[" + json.dumps(GOOD).encode() + b", " + body + b"]", ["body", 1, *_loc(field)][: -1 if name == "deep nesting" else None]),
        ("/workbench/decode", body, loc),
    ):
        r = client.post(url, content=payload, headers={"content-type": "application/json"})
        assert r.status_code == 422, (url, r.text)
        [detail] = r.json()["detail"]
        assert detail["loc"] == want and words in detail["msg"], (url, detail)


def _loc(field: str) -> list:
    import re

    return [int(m.group(1)) if m.group(1) else m.group(2) for m in re.finditer(r"\[(\d+)\]|([^.\[\]]+)", field)]


def test_a_good_card_passes_every_path_unchanged(client, tmp_path):
    lines = tmp_path / "cards.jsonl"
    lines.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert run_cli("classify", str(lines))[0] == 0
    r = client.post("/workbench/decode", content=json.dumps([GOOD, make_card("second")]))
    assert r.status_code == 200 and r.json() == [GOOD, make_card("second")]


def test_invalid_json_names_line_column_and_where_it_broke(client):
    text = '[{"id": "a"}, {"id": "b", "substance": {"kind": }}]'
    r = client.post("/classify", content=text)
    [detail] = r.json()["detail"]
    assert r.status_code == 422 and detail["loc"] == ["body", 1, "substance", "kind"] and "invalid JSON at line 1 column" in detail["msg"]


def test_a_44_digit_year_says_what_is_wrong(client):
    """The named-query binder reads its body with the one decoder: a JSON number is a value, a huge one is named as such."""
    r = client.post("/queries/approvals-by-year/bind", content=f'{{"year": {10**43}}}')
    [detail] = r.json()["detail"]
    assert r.status_code == 422 and detail["loc"] == ["body", "year"] and "integer too large (44 digits" in detail["msg"], detail
    assert "valid string" not in detail["msg"]
    assert client.post("/queries/approvals-by-year/bind", content='{"year": 2020}').status_code == 200
    r = client.post("/queries/approvals-by-year/bind", content='{"year": 2020, "year": 2021}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "year"] and "duplicate key" in r.json()["detail"][0]["msg"]


# -- 3: rule and card files are regular files of bounded size ----------------------------------------------------
MEMORY = 3 * 1024**3  # address space of a command under test: the old reader grew to 24 GB on /dev/zero


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def atmp(*args: str, stdin=subprocess.DEVNULL, data: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``atmp ARGS`` as a process, under a memory limit and a time-out (a regression fails rather than hangs or swaps)."""
    where = {"input": data} if data is not None else {"stdin": stdin}
    return subprocess.run([sys.executable, "-m", "atmp", *args], **where, capture_output=True, cwd=ROOT, timeout=60, preexec_fn=_limit_memory, env={**os.environ, **(env or {})})


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "rules.ttl"
    os.mkfifo(path)
    return path


def test_an_ontology_that_is_a_device_or_a_fifo_is_refused_at_once(fifo):
    card = json.dumps(make_card("o")).encode()
    for target, kind in (("/dev/zero", "a character device"), (str(fifo), "a FIFO")):
        p = atmp("--ontology", target, "classify", "-", data=card)
        err = p.stderr.decode()
        assert p.returncode == 2 and err.startswith(f"atmp: --ontology {target}: not a regular file ({kind}") and "Traceback" not in err, err


def test_shapes_queries_and_cards_given_as_a_fifo_are_refused(fifo, tmp_path):
    shapes = tmp_path / "shapes"
    shapes.mkdir()
    os.mkfifo(shapes / "product-shapes.ttl")
    p = atmp("validate", str(ROOT / "tests" / "fixtures" / "examples" / "cards.json"), env={"ATMP_SHAPES": str(shapes), "ATMP_CACHE_DIR": "off"})
    assert p.returncode == 2 and "product-shapes.ttl: not a regular file (a FIFO" in p.stderr.decode(), p.stderr.decode()
    for path in (str(fifo), "/dev/zero"):
        p = atmp("classify", path)
        assert p.returncode == 2 and f"atmp: {path}: not a regular file" in p.stderr.decode() and "(or - for standard input)" in p.stderr.decode()
        p = atmp("classify", "--jsonl", path)
        assert p.returncode == 2 and "not a regular file" in p.stderr.decode()
    query = tmp_path / "q.rq"
    os.mkfifo(query)
    p = atmp("query", str(query))
    assert p.returncode == 2 and "q.rq: not a regular file" in p.stderr.decode(), p.stderr.decode()


def test_endless_standard_input_is_refused_within_the_limit():
    with open("/dev/zero", "rb") as zero:
        p = atmp("classify", "-", stdin=zero)
    assert p.returncode == 2 and "input too large (more than" in p.stderr.decode(), p.stderr.decode()
    with open("/dev/zero", "rb") as zero:
        p = atmp("classify", "--jsonl", "-", stdin=zero)
    assert p.returncode == 2 and "line 1: longer than" in p.stderr.decode(), p.stderr.decode()


def test_a_rule_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.ttl"
    with open(big, "wb") as f:
        f.truncate(MAX_RULE_FILE_BYTES + 1)  # sparse: nothing is written, and nothing may be read
    p = atmp("--ontology", str(big), "context")
    assert p.returncode == 2 and f"--ontology {big}: ontology too large ({MAX_RULE_FILE_BYTES + 1} bytes" in p.stderr.decode(), p.stderr.decode()
    p = atmp("--ontology", str(big), "qc", "--no-java")
    assert p.returncode == 2 and "ontology too large" in p.stderr.decode(), p.stderr.decode()
    p = atmp("diff", str(big), str(ROOT / "ontology" / "atmp.ttl"))
    assert p.returncode == 2 and "too large" in p.stderr.decode(), p.stderr.decode()


def test_atmp_serve_refuses_a_fifo_ontology(fifo):
    p = atmp("--ontology", str(fifo), "serve", "--port", "1")
    assert p.returncode == 2 and "not a regular file (a FIFO" in p.stderr.decode(), p.stderr.decode()
