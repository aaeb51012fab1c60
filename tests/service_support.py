"""Shared by the HTTP service tests: the HermiT reference answers (computed once per test process) and a
real ``atmp serve`` process on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import lru_cache

import httpx

from benchmarks.cardgen import generate_cards
from tests.conftest import FIXTURES, ROOT

# The reference sets: every example, every third catalogue product, a seeded generator batch (a tenth of it
# self-contradictory). The seed is test_equivalence's, so the generator cards are the ones it checks too.
GENERATED_SEED = 20261123
GENERATED_CARDS = 30


@lru_cache(maxsize=1)
def reference_cards() -> dict[str, list[dict]]:
    examples = json.loads((FIXTURES / "examples" / "cards.json").read_text(encoding="utf-8"))
    catalogue = json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))
    catalogue = catalogue[:: -(-len(catalogue) // 31)]  # at most 31 cards spread over the catalogue: one batch (max_batch 40), HermiT cost fixed
    generated = generate_cards(150, seed=GENERATED_SEED, inconsistent_fraction=0.1)[:GENERATED_CARDS]  # test_equivalence's batch
    return {"examples": examples, "catalogue": catalogue, "generated": generated}


def _facts_key(facts) -> tuple:
    return (str(facts.iri), tuple(sorted((str(p), tuple(map(str, v))) for p, v in facts.values.items())), tuple(sorted(map(str, facts.types))))


@lru_cache(maxsize=1)
def hermit_reference() -> dict[str, list[dict]]:
    """``atmp.classify.classify_cards(cards, engine="hermit")`` on each reference set: what the service must answer.

    The warm HermiT costs about 0.15-0.5 s per card (plus its start-up), so this is computed once per process
    and shared by the TestClient and the live-server tests. When ``tests/test_equivalence.py`` ran earlier in
    the session, the memberships it already asked the same warm HermiT for (memoised per card) are reused
    instead of asked again; everything else is ``classify_cards(engine="hermit")`` unchanged.
    """
    from atmp.core.card.facts import card_facts
    from atmp.core.classify import classify_cards
    from atmp.core.engines.reasoner import warm_hermit
    from atmp.core.rules.ontology import load_model

    model = load_model()
    classes = [rc.iri for rc in model.result_classes]
    memo = getattr(sys.modules.get("tests.test_equivalence"), "_memo", None) or {}
    known = {}
    for cards in reference_cards().values():
        for card in cards:
            members = memo.get(json.dumps(card, sort_keys=True))
            if members is not None:
                known[_facts_key(card_facts(model, card))] = members
    hermit = warm_hermit(model)
    asked = hermit.memberships

    def memberships(facts, wanted):
        wanted = list(wanted)
        found = known.get(_facts_key(facts)) if wanted == classes else None
        return set(found) if found is not None else asked(facts, wanted)

    shadowed = "memberships" in vars(hermit)
    hermit.memberships = memberships  # this instance only, for the duration of the reference run
    try:
        return {name: classify_cards(cards, engine="hermit", model=model) for name, cards in reference_cards().items()}
    finally:
        if shadowed:
            hermit.memberships = asked
        else:
            del hermit.memberships


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(*args: str, env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """Start ``atmp serve`` on a free 127.0.0.1 port; yield (base URL, process, seconds until /health answered); stop it."""
    port = free_port()
    command = [sys.executable, "-m", "atmp", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *args]
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty server must never block on a full pipe
    process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = start + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"atmp serve exited with {process.returncode}:\n{log.read().decode('utf-8', 'replace')[-4000:]}")
            try:
                if httpx.get(base + "/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"atmp serve did not answer /health within {timeout} s")
            time.sleep(0.05)
        yield base, process, time.perf_counter() - start
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
