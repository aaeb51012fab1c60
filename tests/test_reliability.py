"""Issue 13: the service and the CLI as a hostile or careless user meets them. Small limits, so each runs in seconds;
every request loop is bounded in count and time and targets 127.0.0.1 only."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from atmp.http.app import Settings, create_app
from atmp.http.scheduler import FairLock, TooSlow, in_turns
from fastapi.testclient import TestClient

from benchmarks.reliability import SLOW_QUERY, bomb_query, minimal_cards
from tests.conftest import ROOT, make_card
from tests.service_support import running_server


def atmp(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
    data = stdin.encode("utf-8", "surrogatepass") if isinstance(stdin, str) else stdin
    return subprocess.run([sys.executable, "-m", "atmp", *args], input=data, capture_output=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(max_batch=200, card_chunk=10, max_report_triples=2_000, sparql_workers=1, sparql_timeout=5.0, sparql_max_bytes=50_000))
    with TestClient(app) as c:
        yield c


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- 1: SPARQL cannot starve the service ------------------------------------------------------------------
def test_a_full_sparql_queue_refuses_at_once_and_health_stays_fast():
    """The load test: 8 clients keep 1 worker and a queue of 2 full of slow queries for ~6 s; /health p99 < 100 ms,
    a one-card /classify still answers, the overflow gets 503 + Retry-After at once, no answer comes after the time limit."""
    env = {"ATMP_SPARQL_WORKERS": "1", "ATMP_SPARQL_QUEUE": "2", "ATMP_SPARQL_TIMEOUT": "2"}
    with running_server(env=env) as (base, _process, _):
        stop = time.perf_counter() + 6.0
        answers: list[tuple[int, float, str | None]] = []
        lock = threading.Lock()

        def attacker() -> None:
            with httpx.Client(base_url=base, timeout=30) as c:
                for _ in range(200):  # bounded
                    if time.perf_counter() > stop:
                        return
                    t = time.perf_counter()
                    r = c.get("/sparql", params={"query": SLOW_QUERY})
                    with lock:
                        answers.append((r.status_code, time.perf_counter() - t, r.headers.get("retry-after")))
                    if r.status_code == 503:
                        time.sleep(0.2)

        threads = [threading.Thread(target=attacker) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        health: list[float] = []
        classify: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as c:
            for i in range(400):  # bounded
                if time.perf_counter() > stop:
                    break
                t = time.perf_counter()
                assert c.get("/health").status_code == 200
                health.append(time.perf_counter() - t)
                if i % 10 == 0:
                    t = time.perf_counter()
                    assert c.post("/classify", json=make_card("probe")).status_code == 200
                    classify.append(time.perf_counter() - t)
                time.sleep(0.01)
            refused_during = c.get("/health").json()["sparql_workers"]["refused"]
        for t in threads:
            t.join(30)
    assert len(health) >= 50
    assert percentile(health, 0.99) < 0.100, f"/health p99 {percentile(health, 0.99) * 1000:.0f} ms while the SPARQL queue is full"
    assert max(classify) < 2.0
    busy = [a for a in answers if a[0] == 503 and a[1] < 0.5]
    assert busy and all(a[2] for a in busy), "the overflow is refused at once, with Retry-After"
    assert refused_during > 0
    assert max(a[1] for a in answers) < 2.0 + 1.5, "the wait for a worker counts in the time limit"


# -- 2: SPARQL answers are bounded in bytes and memory -----------------------------------------------------
def test_an_answer_over_the_byte_limit_is_refused(client):
    r = client.get("/sparql", params={"query": bomb_query(13)})  # 16 * 2^13 = 128 KiB in one value, limit 50 kB
    assert r.status_code == 400 and "larger than the limit of 50000 bytes" in r.json()["detail"]
    many = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 5000"
    r = client.get("/sparql", params={"query": many})
    assert r.status_code == 400 and "bytes" in r.json()["detail"]
    assert client.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 5"}).status_code == 200


def test_a_query_over_the_worker_memory_limit_is_refused_and_the_worker_replaced():
    env = {"ATMP_SPARQL_WORKERS": "1", "ATMP_SPARQL_WORKER_MEMORY": "64", "ATMP_SPARQL_MAX_BYTES": str(2**31), "ATMP_SPARQL_TIMEOUT": "20"}
    with running_server(env=env) as (base, _process, _):
        r = httpx.get(base + "/sparql", params={"query": bomb_query(24)}, timeout=60)  # 256 MiB string
        assert r.status_code == 400 and "more memory than a worker may use (64 MiB)" in r.json()["detail"]
        for _ in range(100):  # the replacement worker loads in about a second
            r = httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
            if r.status_code == 200:
                break
            time.sleep(0.2)
        assert r.status_code == 200 and r.json()["boolean"] is True


# -- 3: card work takes turns, is time-limited and bounded -------------------------------------------------
def test_a_small_request_passes_a_big_batch():
    env = {"ATMP_CARD_CHUNK": "10", "ATMP_MAX_BATCH": "1000"}
    with running_server(env=env) as (base, _process, _):
        big: dict = {}

        def run_big() -> None:
            t = time.perf_counter()
            r = httpx.post(base + "/classify", json=minimal_cards(1000), timeout=120)
            big.update(status=r.status_code, done=time.perf_counter(), seconds=time.perf_counter() - t)

        thread = threading.Thread(target=run_big)
        thread.start()
        time.sleep(0.5)
        t = time.perf_counter()
        r = httpx.post(base + "/classify", json=make_card("small"), timeout=120)
        small_done, small_seconds = time.perf_counter(), time.perf_counter() - t
        thread.join(120)
    assert r.status_code == 200 and big["status"] == 200
    assert small_done < big["done"], "the one-card request finished while the 1,000-card batch was still running"
    assert small_seconds < max(1.0, big["seconds"] / 4)


def test_a_turtle_report_over_the_triple_limit_is_413(client):
    r = client.post("/validate", params={"format": "turtle"}, json=minimal_cards(100))
    assert r.status_code == 413 and "triples" in r.json()["detail"] and "split the batch" in r.json()["detail"]
    assert client.post("/validate", params={"format": "turtle"}, json=minimal_cards(1)).status_code == 200


def test_card_work_has_a_time_limit():
    lock = FairLock()
    calls = []

    def slow(chunk):
        time.sleep(0.05)
        calls.append(len(chunk))
        return list(chunk)

    with pytest.raises(TooSlow, match="longer than the limit of 0.1 s"):
        in_turns(lock, list(range(100)), slow, chunk=10, timeout=0.1)
    assert 1 <= len(calls) < 10
    assert in_turns(lock, list(range(25)), lambda c: list(c), chunk=10, timeout=5) == list(range(25))


def test_the_fair_lock_serves_in_arrival_order():
    lock = FairLock()
    order: list[int] = []
    gave_up: list[bool] = []

    def take(i: int) -> None:
        with lock.hold(time.monotonic() + 10):
            order.append(i)

    def impatient() -> None:
        try:
            with lock.hold(time.monotonic() + 0.05):
                order.append(-1)
        except TooSlow:
            gave_up.append(True)

    threads = []
    with lock.hold():
        for i, target in enumerate([take, take, impatient, take, take]):
            t = threading.Thread(target=target, args=(i,) if target is take else ())
            threads.append(t)
            t.start()
            time.sleep(0.1)  # each asks after the one before
    for t in threads:
        t.join(5)
    assert gave_up == [True], "a waiter past its deadline gives up"
    assert order == [0, 1, 3, 4], "the rest are served in arrival order, not blocked by the one who gave up"


# -- 4: bad input is 422 / exit 2, never 500 / exit 3 -----------------------------------------------------
def test_a_lone_surrogate_is_422_naming_the_field(client):
    body = json.dumps(make_card("x")).replace('"x"', '"x\\ud800"', 1).encode()
    r = client.post("/classify", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "id"] and "surrogate" in r.json()["detail"][0]["msg"]
    key = json.dumps(make_card("x")).replace('"substance"', '"substance", "k\\udfff": 1, "zz"', 1).encode()
    assert client.post("/classify", content=key, headers={"content-type": "application/json"}).status_code == 422


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        ("[" + "9" * 5000 + "]", "integer with 5000 digits"),
        (json.dumps(make_card("x")).replace('"x"', '"x\\ud800"', 1), "id: contains a lone surrogate"),
    ],
)
def test_cli_bad_json_is_exit_2(stdin, needle):
    p = atmp("classify", "-", stdin=stdin)
    assert p.returncode == 2 and needle in p.stderr.decode() and "Traceback" not in p.stderr.decode()


def test_cli_whatif_with_a_surrogate_in_a_label_and_an_unreadable_ontology_are_exit_2():
    card = make_card("w")
    card["label"] = {"en": "x"}
    p = atmp("whatif", "-", stdin=json.dumps(card).replace('"x"', '"x\\ud800"'))
    assert p.returncode == 2 and "label.en: contains a lone surrogate" in p.stderr.decode()
    p = atmp("--ontology", "/etc/passwd", "classify", "-", stdin=json.dumps(make_card("o")))
    assert p.returncode == 2 and p.stderr.decode().startswith("atmp: --ontology /etc/passwd: cannot parse ontology")


def test_huge_and_deep_json_is_422_over_http(client):
    for body in ("[" * 5000 + "]" * 5000, "[" + "9" * 5000 + "]"):
        r = client.post("/classify", content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 422, body[:20]


# -- 5: patterns match in full ----------------------------------------------------------------------------
def test_an_id_ending_in_a_newline_is_refused(client, tmp_path):
    r = client.post("/classify", json=make_card("abc\n"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "id"]
    p = atmp("validate", "--format", "turtle", "-", stdin=json.dumps(make_card("abc\n")))
    assert p.returncode == 2 and "id:" in p.stderr.decode()
    catalogue = json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))[:2]
    catalogue[1]["id"] += "\n"
    path = tmp_path / "products.json"
    path.write_text(json.dumps(catalogue), encoding="utf-8")
    p = atmp("export", "--catalogue", str(path), "--format", "nq")
    assert p.returncode == 2 and "[1].id" in p.stderr.decode()


# -- 6: nothing silently dropped ------------------------------------------------------------------------------
def test_unknown_fields_are_warned_with_a_suggestion_and_refused_when_strict(client):
    card = make_card("brit", function={"tumourigenic_risk": True})
    r = client.post("/classify", json=card)
    assert r.status_code == 200
    [warning] = r.json()["warnings"]
    assert (warning["code"], warning["field"], warning["suggestion"]) == ("unknown_field", "function.tumourigenic_risk", "function.tumorigenic_risk")
    assert "did you mean function.tumorigenic_risk" in warning["message"]["en"] and warning["message"]["zh"]
    assert "warnings" not in client.post("/classify", json=make_card("plain")).json()
    r = client.post("/classify", params={"strict": "true"}, json=[make_card("a"), card])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", 1, "function", "tumourigenic_risk"]
    assert client.post("/validate", params={"strict": "true"}, json=card).status_code == 422
    p = atmp("classify", "-", stdin=json.dumps(card))
    assert p.returncode == 0 and json.loads(p.stdout)["warnings"][0]["suggestion"] == "function.tumorigenic_risk"
    p = atmp("classify", "--strict", "-", stdin=json.dumps(card))
    assert p.returncode == 2 and "did you mean function.tumorigenic_risk" in p.stderr.decode()


def test_the_warning_is_in_the_result_schema(client):
    from atmp.core.rules.resources import RESULT_SCHEMA, schema
    from jsonschema import Draft202012Validator

    result = client.post("/classify", json=make_card("brit", function={"tumourigenic_risk": True})).json()
    Draft202012Validator(schema(RESULT_SCHEMA)).validate(result)
    bad = {**result, "warnings": [{"code": "unknown_field"}]}
    assert list(Draft202012Validator(schema(RESULT_SCHEMA)).iter_errors(bad))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"id": "a", "id": "b"}', "duplicate key"),
        (json.dumps(make_card("n")).replace('"function": {', '"function": {"extra": NaN, ', 1), "NaN is not a JSON number"),
        (json.dumps(make_card("n")).replace('"function": {', '"function": {"extra": -Infinity, ', 1), "-Infinity is not a JSON number"),
        (json.dumps(make_card("n")).replace('"function": {', '"function": {"extra": 1e999, ', 1), "too large to be finite"),
    ],
)
def test_duplicate_keys_and_non_finite_numbers_are_refused(client, text, needle):
    r = client.post("/classify", content=text.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422 and needle in r.json()["detail"][0]["msg"]
    p = atmp("classify", "-", stdin=text)
    assert p.returncode == 2 and needle in p.stderr.decode()


# -- 7: one log line per incident; a body read timeout ------------------------------------------------------
def test_abandoned_bodies_log_one_line_each_and_slow_bodies_time_out():
    with running_server(env={"ATMP_BODY_TIMEOUT": "1"}) as (base, process, _):
        port = int(base.rsplit(":", 1)[1])
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"id": "ab')
            time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"id": "ab')
            t = time.perf_counter()
            reply = s.recv(4096)
            waited = time.perf_counter() - t
            for _ in range(20):  # the body may come in a later segment; the server closes after it
                more = s.recv(4096)
                if not more:
                    break
                reply += more
        assert reply.startswith(b"HTTP/1.1 408") and b"stopped arriving" in reply and 0.5 < waited < 5
        assert httpx.get(base + "/health").status_code == 200
        time.sleep(0.5)
        log = process_log(process)
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "disconnected" in line or "body timeout" in line]
    assert len(lines) == 21 and len(log.encode()) < 21 * 300, log[-2000:]


def process_log(process) -> str:
    """What the server wrote so far (running_server sends its output to an unnamed temporary file)."""
    with open(f"/proc/{process.pid}/fd/1", "rb") as f:
        return f.read().decode("utf-8", "replace")
