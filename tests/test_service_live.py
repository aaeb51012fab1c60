"""A real ``atmp serve`` process on a free loopback port: concurrent clients, streamed bodies, and schemathesis
against the live OpenAPI document (no answer may be a server error)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from .conftest import catalogue_size
from .service_support import hermit_reference, reference_cards, running_server

CONCURRENT = 50


@pytest.fixture(scope="module")
def server():
    # Small SPARQL limits keep the fuzzed queries cheap; a short time limit lets a runaway query end quickly.
    with running_server("--sparql-timeout", "5", "--sparql-max-results", "2000", env={"ATMP_MAX_BATCH": "20"}) as (base, process, seconds):
        yield base


def test_health_and_openapi(server):
    health = httpx.get(server + "/health").json()
    assert health["status"] == "ok" and health["products"] == catalogue_size()
    assert health["limits"]["max_batch"] == 20 and health["limits"]["sparql_timeout"] == 5.0  # env and flags reach the service
    doc = httpx.get(server + "/openapi.json").json()
    assert "/classify" in doc["paths"] and "/sparql" in doc["paths"]


def test_concurrent_classify_calls_are_answered_correctly(server):
    """50 clients post at the same moment, each its own card; every answer is that card's HermiT answer."""
    cards = (reference_cards()["examples"] + reference_cards()["generated"])[:CONCURRENT]
    expected = (hermit_reference()["examples"] + hermit_reference()["generated"])[:CONCURRENT]
    assert len(cards) == CONCURRENT
    barrier = threading.Barrier(CONCURRENT)

    def post(card):
        with httpx.Client(base_url=server, timeout=60) as client:
            barrier.wait()
            return client.post("/classify", json=card)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        responses = list(pool.map(post, cards))
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    wrong = [card["id"] for card, r, want in zip(cards, responses, expected, strict=True) if r.json() != want]
    assert not wrong, f"answers that are not the reference: {wrong}"
    assert httpx.get(server + "/health").json()["java_started"] is False  # the answers came without a JVM


def test_concurrent_sparql_and_classify(server):
    """SPARQL queries and classifications at the same time do not disturb each other."""
    card, want = reference_cards()["examples"][0], hermit_reference()["examples"][0]
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?c }"

    def work(i):
        with httpx.Client(base_url=server, timeout=60) as client:
            if i % 2:
                return client.get("/sparql", params={"query": query}).json()["results"]["bindings"][0]["n"]["value"]
            return client.post("/classify", json=card).json() == want

    with ThreadPoolExecutor(8) as pool:
        out = list(pool.map(work, range(24)))
    assert all(out[0::2]) and len(set(out[1::2])) == 1


def test_streamed_body_over_the_limit_is_413(server):
    def chunks():
        for _ in range(100):
            yield b" " * 65_536  # 6.5 MB in chunks, no Content-Length

    r = httpx.post(server + "/classify", content=chunks(), headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert httpx.get(server + "/health").status_code == 200


# ============================================================================================ schemathesis
schemathesis.serializer.alias("application/sparql-query", "text/plain")
FUZZ_EXAMPLES = 15


def test_no_server_error_anywhere(server):
    """schemathesis reads the live /openapi.json and sends inputs that fit it (positive) and that do not
    (negative) to every operation; not one answer may be a 5xx.

    The operations are driven through ``APIOperation.as_strategy`` rather than ``schemathesis.pytest.from_fixture``,
    whose lazy loader does not run under pytest 9."""
    schema = schemathesis.openapi.from_url(server + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /classify",
        "POST /validate",
        "GET /products",
        "GET /products/{product_id}",
        "GET /classes",
        "GET /criteria",
        "GET /sparql",
        "POST /sparql",
        "GET /health",
    }
    failures: list[str] = []
    calls = {"n": 0}

    def fuzzer(operation, mode):
        label = f"{operation.method.upper()} {operation.path} ({mode})"

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        def fuzz(case):
            response = case.call(timeout=30)
            calls["n"] += 1
            if response.status_code >= 500:
                failures.append(f"{label}: {response.status_code} {response.text[:300]}\n  {case.as_curl_command()}")
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except AssertionError as exc:
                failures.append(f"{label}: {str(exc)[:300]}")

        return fuzz

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzzer(operation, mode)()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.path  # nothing to get wrong (e.g. GET /health takes no input)
    assert calls["n"] > 100
    assert not failures, "\n".join(dict.fromkeys(failures))
