#!/usr/bin/env python
"""Benchmark the HTTP service: ``POST /classify`` with one card, warm and under 8 concurrent clients, and cold start.

    .venv/bin/python benchmarks/service.py                       # 500 warm requests, 8 clients for 10 s, 3 cold starts
    .venv/bin/python benchmarks/service.py --requests 2000 --clients 8 --duration 20 --cold-runs 5

Each figure comes from a real ``atmp serve`` process on a free loopback port (started as the tests start it):

* **cold start** — from launching ``atmp serve`` to the first ``POST /classify`` answer (Python start-up,
  imports, ontology, building and classifying the catalogue graph, uvicorn, the first classification);
  polled every 20 ms; the median of ``--cold-runs`` fresh processes;
* **warm latency** — ``--requests`` sequential ``POST /classify`` of one card each (the 30 example cards in turn)
  on one keep-alive connection after ``--warmup`` requests: p50, p90, p99, max, measured at the client;
* **throughput** — ``--clients`` threads, each with its own keep-alive connection, posting one card at a time
  for ``--duration`` seconds: answers per second and the latency percentiles under that load.

The clients run on the same machine and share its cores with the server, as they would on a laptop: on
2 cores they take a noticeable part of the CPU, so the figures are a floor. Targets (the issue): p50 ≤ 20 ms
for one card, cold start ≤ 5 s. Results also go to ``benchmarks/results/service-<time>.json``.

The figures under a hostile client (SPARQL flood, size bomb, a small request behind a big batch, abandoned
bodies; issue 13) are ``benchmarks/reliability.py``, which reuses this module's ``Server``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
EXAMPLES = ROOT / "tests" / "fixtures" / "examples" / "cards.json"
TARGETS = {"p50_ms": 20.0, "cold_start_s": 5.0}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``atmp serve`` on a free port; ``first_answer`` waits for the first POST /classify answer."""

    def __init__(self, extra: list[str] | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "atmp", "serve", "--port", str(self.port), "--log-level", "warning", *(extra or [])], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    def first_answer(self, card: dict, timeout: float = 120.0) -> float:
        body = json.dumps(card).encode()
        while True:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"atmp serve exited: {self.log.read().decode(errors='replace')[-2000:]}")
            try:
                r = httpx.post(self.base + "/classify", content=body, headers={"content-type": "application/json"}, timeout=5)
                if r.status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            if time.perf_counter() - self.started > timeout:
                raise RuntimeError("no answer from atmp serve")
            time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50) * 1000,
        "p90_ms": pick(0.90) * 1000,
        "p99_ms": pick(0.99) * 1000,
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def warm_latency(base: str, bodies: list[bytes], requests: int, warmup: int) -> dict:
    with httpx.Client(base_url=base, headers={"content-type": "application/json"}, timeout=30) as client:
        for i in range(warmup):
            client.post("/classify", content=bodies[i % len(bodies)]).raise_for_status()
        samples = []
        for i in range(requests):
            t = time.perf_counter()
            r = client.post("/classify", content=bodies[i % len(bodies)])
            samples.append(time.perf_counter() - t)
            r.raise_for_status()
    return percentiles(samples)


def throughput(base: str, bodies: list[bytes], clients: int, duration: float) -> dict:
    samples: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def run(k: int) -> None:
        with httpx.Client(base_url=base, headers={"content-type": "application/json"}, timeout=60) as client:
            client.post("/classify", content=bodies[k % len(bodies)])  # connect before the clock starts
            barrier.wait()
            i = k
            while time.perf_counter() < stop_at[0]:
                t = time.perf_counter()
                r = client.post("/classify", content=bodies[i % len(bodies)])
                samples[k].append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors[k] += 1
                i += clients

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 1e9
    barrier.wait()
    start = time.perf_counter()
    stop_at[0] = start + duration
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    flat = [s for per in samples for s in per]
    return {"clients": clients, "seconds": elapsed, "answers": len(flat), "errors": sum(errors), "per_second": len(flat) / elapsed, **percentiles(flat)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="sequential warm requests (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="requests before measuring (default 50)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput run (default 8)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the throughput run (default 10)")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh server processes timed to the first answer (default 3)")
    parser.add_argument("--out", type=Path, help="results file (default benchmarks/results/service-<time>.json)")
    args = parser.parse_args(argv)

    cards = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    bodies = [json.dumps(card).encode() for card in cards]
    report: dict = {
        "meta": {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "python": sys.version.split()[0],
            "args": {k: str(v) for k, v in vars(args).items()},
        }
    }

    cold = []
    for _ in range(args.cold_runs):
        server = Server()
        try:
            cold.append(server.first_answer(cards[0]))
        finally:
            server.stop()
    report["cold_start_s"] = {"runs": cold, "median": statistics.median(cold) if cold else None, "min": min(cold) if cold else None}

    server = Server()
    try:
        server.first_answer(cards[0])
        report["warm"] = warm_latency(server.base, bodies, args.requests, args.warmup)
        report["throughput"] = throughput(server.base, bodies, args.clients, args.duration)
        report["health"] = httpx.get(server.base + "/health").json()
    finally:
        server.stop()
    report["meta"]["loadavg_at_end"] = os.getloadavg()

    w, t, c = report["warm"], report["throughput"], report["cold_start_s"]
    rows = [
        ("POST /classify, 1 card, warm: p50", f"{w['p50_ms']:.1f} ms", f"≤ {TARGETS['p50_ms']:g} ms", "ok" if w["p50_ms"] <= TARGETS["p50_ms"] else "MISSED"),
        ("POST /classify, 1 card, warm: p90 / p99 / max", f"{w['p90_ms']:.1f} / {w['p99_ms']:.1f} / {w['max_ms']:.1f} ms", "", ""),
        (f"throughput, {t['clients']} concurrent clients", f"{t['per_second']:.0f} answers/s ({t['errors']} errors)", "", ""),
        (f"latency under {t['clients']} clients: p50 / p99", f"{t['p50_ms']:.1f} / {t['p99_ms']:.1f} ms", "", ""),
        (
            "cold start to first answer (median)",
            f"{c['median']:.2f} s (runs: {', '.join(f'{x:.2f}' for x in c['runs'])})",
            f"≤ {TARGETS['cold_start_s']:g} s",
            "ok" if c["median"] <= TARGETS["cold_start_s"] else "MISSED",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"| {'measure':<{widths[0]}} | {'value':<{widths[1]}} | {'target':<{widths[2]}} | {'':<{widths[3]}} |")
    print("|" + "|".join("-" * (w_ + 2) for w_ in widths) + "|")
    for r in rows:
        print("| " + " | ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(r)) + " |")
    print(f"\n{report['meta']['cpus']} CPUs, load average {report['meta']['loadavg_at_start'][0]:.2f} at start, {report['meta']['loadavg_at_end'][0]:.2f} at end")

    out = args.out or RESULTS_DIR / f"service-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
