"""Issue 13: the service and the CLI as a hostile or careless user meets them. Small limits, so each runs in seconds;
every request loop is bounded in count and time and targets 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from atmp.http.app import Settings, create_app
from atmp.http.scheduler import Turns
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
    """A request past card_timeout is refused with 503 + Retry-After, waiting or running; a running job's worker is replaced."""
    env = {"ATMP_CARD_TIMEOUT": "1", "ATMP_CARD_WORKERS": "1", "ATMP_MAX_BATCH": "1000", "ATMP_SPARQL_WORKERS": "1"}
    with running_server(env=env) as (base, _process, _):
        r = httpx.post(base + "/validate", params={"format": "turtle"}, json=minimal_cards(400), timeout=60)  # ~4 s of pyshacl
        assert r.status_code == 503 and "limit of 1 s" in r.json()["detail"] and r.headers["retry-after"], r.text
        for _ in range(100):  # the killed worker is replaced in about a second
            r = httpx.post(base + "/classify", json=make_card("after"), timeout=30)
            if r.status_code == 200:
                break
            time.sleep(0.2)
        assert r.status_code == 200
        assert httpx.get(base + "/health").json()["card_workers"]["restarts"] >= 1


def _run(coro):
    import asyncio

    return asyncio.run(coro)


def test_turns_serve_in_arrival_order_and_a_waiter_past_its_deadline_gives_up():
    import asyncio

    async def scenario():
        turns = Turns(long_limit=1)
        order: list[str] = []
        turns.add("w")
        first = await turns.take(time.monotonic() + 5)

        async def ask(name: str, patience: float) -> None:
            try:
                worker = await turns.take(time.monotonic() + patience)
            except TimeoutError:
                order.append(f"{name} gave up")
                return
            order.append(name)
            await asyncio.sleep(0.01)
            turns.give_back(worker)

        tasks = []
        for name, patience in (("a", 5), ("b", 5), ("impatient", 0.05), ("c", 5)):
            tasks.append(asyncio.create_task(ask(name, patience)))
            await asyncio.sleep(0.02)  # each asks after the one before
        await asyncio.sleep(0.1)
        turns.give_back(first)
        await asyncio.gather(*tasks)
        return order

    assert _run(scenario()) == ["impatient gave up", "a", "b", "c"]


def test_long_work_leaves_a_worker_for_short_work():
    """Two workers, long_limit 1: a second long job waits while a short job behind it gets the free worker."""
    import asyncio

    async def scenario():
        turns = Turns(long_limit=1)
        turns.add("w1")
        turns.add("w2")
        long_worker = await turns.take(time.monotonic() + 5, long=True)
        second_long = asyncio.create_task(turns.take(time.monotonic() + 5, long=True))
        await asyncio.sleep(0.02)
        short = await asyncio.wait_for(turns.take(time.monotonic() + 5), 1)  # not behind the waiting long job
        assert not second_long.done()
        turns.give_back(long_worker, long=True)
        got = await asyncio.wait_for(second_long, 1)
        return {long_worker, short} == {"w1", "w2"} and got == long_worker

    assert _run(scenario())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def test_health_and_a_one_card_request_stay_fast_while_a_big_validation_runs():
    """Issue 34: a 300-card POST /validate?format=turtle (about 3 s of pyshacl) runs in a card worker, so /health and
    a one-card /classify answer promptly meanwhile. Asserted two ways, both robust on a loaded 2-core machine:
    structurally — the server process spends a small fraction of the CPU time the workers spend on the batch — and,
    as a sanity bound, p99 under 0.5 s or 10 times the same probe's idle p99 (the old server stalled 1-2 s at a time
    on this batch). The figures are printed: on a quiet machine /health p99 is 3-6 ms idle and under the load alike;
    a 100 ms bound held on a loaded 2-core machine but not in every run of the whole suite, so it is measured
    (benchmarks/reliability.py), not asserted. (Before, 1,000 cards: /health stalled 5.2 s, a one-card /classify 5.7 s.)"""
    env = {"ATMP_MAX_BATCH": "1000", "ATMP_SPARQL_WORKERS": "1", "ATMP_CARD_WORKERS": "2"}
    with running_server(env=env) as (base, process, _):
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(5):
                c.post("/classify", json=make_card("warm")).raise_for_status()
            idle = {"/health": [], "/classify": []}
            for _ in range(30):  # bounded: the idle baseline of each probe
                for path, sample in idle.items():
                    t = time.perf_counter()
                    (c.get(path) if path == "/health" else c.post(path, json=make_card("probe"))).raise_for_status()
                    sample.append(time.perf_counter() - t)
        workers = _children(process.pid)
        big: dict = {}
        done = threading.Event()

        def run_big() -> None:
            t = time.perf_counter()
            r = httpx.post(base + "/validate", params={"format": "turtle"}, json=minimal_cards(300), timeout=120)
            big.update(status=r.status_code, seconds=time.perf_counter() - t)
            done.set()

        busy = {"/health": [], "/classify": []}
        server_cpu, workers_cpu = _cpu_seconds(process.pid), sum(_cpu_seconds(w) for w in workers)
        thread = threading.Thread(target=run_big)
        thread.start()
        time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=60) as c:
            for i in range(2000):  # bounded; ends with the big request
                if done.is_set():
                    break
                path = "/health" if i % 2 == 0 else "/classify"
                t = time.perf_counter()
                r = c.get(path) if path == "/health" else c.post(path, json=make_card("probe"))
                if not done.is_set():
                    busy[path].append(time.perf_counter() - t)
                assert r.status_code == 200
                time.sleep(0.02)
        thread.join(120)
        server_cpu = _cpu_seconds(process.pid) - server_cpu
        workers_cpu = sum(_cpu_seconds(w) for w in workers) - workers_cpu
    assert big["status"] == 200
    assert len(busy["/health"]) >= 20 and len(busy["/classify"]) >= 20, busy
    # structure: the batch's CPU time is the workers' (the probes themselves cost the server a little)
    assert workers_cpu > 1.0 and server_cpu < 0.5 * workers_cpu, f"server {server_cpu:.2f} s CPU, workers {workers_cpu:.2f} s"
    figures = {}
    for path in busy:
        loaded, baseline = percentile(busy[path], 0.99), percentile(idle[path], 0.99)
        figures[path] = (round(baseline * 1000, 1), round(loaded * 1000, 1))
        assert loaded < max(0.500, 10 * baseline), f"{path}: p99 {loaded * 1000:.0f} ms under load, {baseline * 1000:.0f} ms idle"
    print(f"p99 idle/under a {big['seconds']:.1f} s Turtle validation (ms): {figures}; CPU server {server_cpu:.2f} s, workers {workers_cpu:.2f} s")


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
