"""``atmp classify`` at scale: JSON Lines in and out, nothing half-written, --jobs, bounded memory.

Each test runs the real command in a subprocess, because what is at stake (exit codes, files left
behind, peak RSS of the process) only exists at that level.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from benchmarks.cardgen import generate_cards
from tests.conftest import ROOT

ATMP = [sys.executable, "-m", "atmp.cli"]


def run(args: list[str], stdin: bytes | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*ATMP, "classify", *args], input=stdin, capture_output=True, timeout=timeout, cwd=ROOT)


def write_jsonl(path: Path, cards: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in cards))
    return path


@pytest.fixture(scope="module")
def cards() -> list[dict]:
    return generate_cards(60, seed=3)


def test_jsonl_in_gives_jsonl_out_equal_to_the_array_results(tmp_path, cards):
    as_array = tmp_path / "cards.json"
    as_array.write_text(json.dumps(cards), encoding="utf-8")
    array = run([str(as_array)])
    lines = run([str(write_jsonl(tmp_path / "cards.jsonl", cards))])
    assert array.returncode == 0 and lines.returncode == 0, lines.stderr
    results = [json.loads(line) for line in lines.stdout.splitlines()]
    assert results == json.loads(array.stdout)
    assert [r["id"] for r in results] == [c["id"] for c in cards]


def test_jsonl_flag_reads_standard_input(cards):
    done = run(["-", "--jsonl"], stdin=b"".join(orjson.dumps(c) + b"\n" for c in cards[:3]) + b"\n")
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == [c["id"] for c in cards[:3]]


@pytest.mark.parametrize("to_file", [True, False])
def test_a_bad_line_exits_2_naming_it_and_writes_nothing(tmp_path, cards, to_file):
    bad = dict(cards[0], id="bad-one", substance={**cards[0]["substance"], "kind": "bogus"})
    path = write_jsonl(tmp_path / "cards.jsonl", [*cards[:40], bad, *cards[40:]])
    target = tmp_path / "out.jsonl"
    done = run([str(path), *(["-o", str(target)] if to_file else [])])
    assert done.returncode == 2
    assert b"line 41" in done.stderr and b"substance.kind" in done.stderr and b"Traceback" not in done.stderr
    assert done.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards.jsonl"], "no output and no temporary file left"


def test_invalid_json_and_duplicate_ids_name_their_line(tmp_path, cards):
    path = tmp_path / "cards.jsonl"
    path.write_bytes(orjson.dumps(cards[0]) + b"\n{not json\n")
    done = run([str(path)])
    assert done.returncode == 2 and b"line 2: invalid JSON" in done.stderr
    write_jsonl(path, [cards[0], cards[1], cards[0]])
    done = run([str(path)])
    assert done.returncode == 2 and b"line 3: id: duplicate id" in done.stderr and b"line 1" in done.stderr


def test_output_file_replaces_the_target_only_when_complete(tmp_path, cards):
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")
    source = tmp_path / "cards.json"
    source.write_text(json.dumps(cards[:5]), encoding="utf-8")
    done = run([str(source), "-o", str(target)])
    assert done.returncode == 0 and done.stdout == b""
    assert [r["id"] for r in json.loads(target.read_text(encoding="utf-8"))] == [c["id"] for c in cards[:5]]
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask, "an ordinary file, not mkstemp's 0600"


def test_jobs_give_the_same_bytes_as_one_process(tmp_path, monkeypatch):
    """2,500 cards are several chunks (``atmp.cli.CHUNK``), spread over two workers."""
    from atmp.cli import CHUNK

    assert 2500 > 2 * CHUNK
    path = write_jsonl(tmp_path / "cards.jsonl", generate_cards(2500, seed=17, inconsistent_fraction=0.1))
    one = run([str(path), "--jobs", "1"])
    two = run([str(path), "--jobs", "2"])
    auto = run([str(path)])  # the default, --jobs auto: workers on a machine with more than one core
    assert one.returncode == 0 and two.returncode == 0 and auto.returncode == 0, two.stderr + auto.stderr
    assert one.stdout == two.stdout == auto.stdout
    assert len(one.stdout.splitlines()) == 2500


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", "²"])
def test_a_bad_jobs_value_is_refused_naming_the_option(tmp_path, value):
    path = write_jsonl(tmp_path / "cards.jsonl", generate_cards(3, seed=5))
    target = tmp_path / "out.jsonl"
    done = run([str(path), "--jobs", value, "-o", str(target)])
    assert done.returncode == 2, done.stderr
    assert b"--jobs" in done.stderr and b"Traceback" not in done.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == [path]


def test_auto_jobs_start_workers_only_when_a_second_chunk_exists(monkeypatch):
    """``--jobs auto``: one chunk is classified in this process (no start-up for one card); two go to workers."""
    import os

    from atmp.cli import stream
    from atmp.core.rules.layout import ENGINES

    def where(chunk, *rest):  # forked workers inherit this: each chunk answers with the process that did it
        return [str(os.getpid()).encode()] * len(chunk), []

    monkeypatch.setattr(stream, "_serialise_chunk", where)
    assert stream.parse_jobs("auto") == stream.AUTO and stream.parse_jobs("3") == 3
    assert stream.parse_jobs("0") is None and stream.parse_jobs("x") is None

    def pids(chunks: list[list[dict]], engine: str = stream.DEFAULT_ENGINE) -> set[int]:
        pieces = stream.classified(iter(chunks), engine, 0, None, stream.AUTO, lambda n: None)
        return {int(p) for chunk in pieces for p in chunk}

    assert pids([[{}]]) == {os.getpid()}
    assert pids([]) == set()
    for reasoner in (e for e in ENGINES if e != stream.DEFAULT_ENGINE):
        assert pids([[{}], [{}]], engine=reasoner) == {os.getpid()}, f"the {reasoner} engine stays in one process"
    if stream.auto_jobs(stream.DEFAULT_ENGINE) > 1:
        assert os.getpid() not in pids([[{}]] * 4)


def _peak_rss_mb(args: list[str]) -> float:
    """Peak RSS of one ``atmp`` child process (ru_maxrss of a fresh Python that runs it)."""
    code = (
        "import resource, subprocess, sys\n"
        f"subprocess.run({[*ATMP, 'classify', *args]!r}, check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=900, cwd=ROOT, text=True)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip())


MEMORY_BOUND_MB = 400  # 20,000 cards with full explanations; one chunk (atmp.cli.CHUNK) lives at a time per process
GROWTH_BOUND_MB = 100  # 20,000 cards may cost this much more than 2,000: the shared caches (bounded), not the batch; measured 29 MB (154 -> 183 MB, full, EU/US/JP blocks included)


def test_memory_stays_bounded_with_batch_size(tmp_path):
    """Issue 13 item 8: reference cycles made while explaining must not pile up over a batch."""
    big = generate_cards(20_000, seed=23)
    small_path = write_jsonl(tmp_path / "small.jsonl", big[:2000])
    big_path = write_jsonl(tmp_path / "big.jsonl", big)
    del big
    # full explanations: the definition walk is where the cycles were made (explain.because); brief's
    # bounded caches are measured at 100,000 cards in benchmarks/run.py (342 MB), not here (80 s)
    level = ["--explain", "full"]
    small = _peak_rss_mb([str(small_path), "-o", str(tmp_path / "small.out"), *level])
    large = _peak_rss_mb([str(big_path), "-o", str(tmp_path / "big.out"), *level])
    print(f"peak RSS: 2,000 cards {small:.0f} MB, 20,000 cards {large:.0f} MB")
    assert large < MEMORY_BOUND_MB, f"20,000 cards peaked at {large:.0f} MB"
    assert large - small < GROWTH_BOUND_MB, f"2,000 cards {small:.0f} MB, 20,000 cards {large:.0f} MB"
    assert sum(1 for _ in (tmp_path / "big.out").open("rb")) == 20_000
