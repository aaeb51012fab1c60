#!/usr/bin/env python
"""Reliability figures of the HTTP service under a hostile or careless client (issue 13), all on loopback.

    .venv/bin/python benchmarks/reliability.py                   # every measure, default sizes
    .venv/bin/python benchmarks/reliability.py --clients 45 --duration 35

Each measure runs against a real ``atmp serve`` (``benchmarks/service.py``'s ``Server``) and is bounded in
requests and time:

* **starvation** — ``--clients`` threads send a slow SPARQL query (a three-way cross join that runs into the
  time limit) for ``--duration`` s, honouring ``Retry-After`` (at most 0.5 s); meanwhile one client asks
  ``/health`` and one posts a one-card ``/classify`` in a loop. Reported: their latency percentiles and
  the slowest SPARQL answer (the limit is ``sparql_timeout``; waiting used to come on top);
* **size bomb** — one ~700-character query doubling a string with nested ``BIND(CONCAT(...))`` ``--levels``
  times: status, answer bytes, seconds, and the peak resident memory of the server and its workers;
* **card lock** — a 1,000-card ``POST /validate?format=turtle`` and, 0.3 s later, a one-card ``/classify``:
  the small request's latency, the big one's status, seconds and bytes; then ``/health`` and a one-card
  ``/classify`` in loops until the big one answers: their percentiles (issue 34);
* **slow headers** — ``--drippers`` connections send a request line and then one header byte every 0.5 s for
  ``--drip-seconds``; then ``--flood`` connections open at once and send nothing: how many were answered (408,
  503) and when, how many were still open at the end, and the server's peak of open files (issue 34);
* **abandoned bodies** — ``--abandon`` requests that announce a 1,000-byte body, send 10 bytes and close:
  bytes the server writes to its log (it used to write two tracebacks each).

Results go to ``benchmarks/results/reliability-<time>.json``. Run it with ``PYTHONPATH`` pointing at another
checkout's ``service/`` to measure that version (how the before figures of the issue were taken).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.service import EXAMPLES, RESULTS_DIR, ROOT, Server, percentiles  # noqa: E402

SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def bomb_query(levels: int) -> str:
    binds = " ".join(f"BIND(CONCAT(?s{i}, ?s{i}) AS ?s{i + 1})" for i in range(levels))
    return f'SELECT ?s{levels} WHERE {{ BIND("0123456789abcdef" AS ?s0) {binds} }}'


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (kB), from /proc."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def starvation(base: str, clients: int, duration: float, card: bytes) -> dict:
    stop = time.perf_counter() + duration
    sparql_times: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def attacker() -> None:
        with httpx.Client(base_url=base, timeout=duration + 60) as client:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    r = client.get("/sparql", params={"query": SLOW_QUERY})
                    code = r.status_code
                except httpx.HTTPError:
                    code, r = -1, None
                with lock:
                    sparql_times.append(time.perf_counter() - t)
                    statuses[code] = statuses.get(code, 0) + 1
                if r is not None and "retry-after" in r.headers:
                    time.sleep(min(0.5, float(r.headers["retry-after"])))

    def probe(path: str, samples: list[float], body: bytes | None = None) -> None:
        with httpx.Client(base_url=base, timeout=duration + 60) as client:
            time.sleep(1.0)  # let the attackers fill the queue
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = client.post(path, content=body, headers={"content-type": "application/json"}) if body else client.get(path)
                samples.append(time.perf_counter() - t)
                r.raise_for_status()
                time.sleep(0.05)

    health: list[float] = []
    classify: list[float] = []
    threads = [threading.Thread(target=attacker) for _ in range(clients)]
    threads += [threading.Thread(target=probe, args=("/health", health)), threading.Thread(target=probe, args=("/classify", classify, card))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "clients": clients,
        "seconds": duration,
        "health": percentiles(health),
        "classify": percentiles(classify),
        "sparql": {"answers": len(sparql_times), "max_s": max(sparql_times), "statuses": {str(k): v for k, v in sorted(statuses.items())}},
    }


def size_bomb(base: str, pid: int, levels: int) -> dict:
    peak = [tree_rss_kb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(tree_rss_kb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    query = bomb_query(levels)
    t = time.perf_counter()
    try:
        r = httpx.get(base + "/sparql", params={"query": query}, timeout=120)
        status, size, detail = r.status_code, len(r.content), (r.json().get("detail") if r.status_code >= 400 else None)
    except httpx.HTTPError as exc:
        status, size, detail = -1, 0, str(exc)
    seconds = time.perf_counter() - t
    done.set()
    sampler.join()
    after = httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=60).status_code
    return {
        "query_chars": len(query),
        "levels": levels,
        "status": status,
        "bytes": size,
        "seconds": seconds,
        "detail": detail,
        "peak_rss_mb": max(peak) / 1024,
        "rss_before_mb": peak[0] / 1024,
        "next_query_status": after,
    }


def card_lock(base: str, card: bytes, batch: list[dict]) -> dict:
    """A 1,000-card Turtle validation and, while it runs, ``/health`` and a one-card ``/classify`` in two loops
    (each sample 20 ms apart): their latency percentiles, and the first one-card answer as before (issue 34)."""
    big: dict = {}
    done = threading.Event()

    def run_big() -> None:
        t = time.perf_counter()
        r = httpx.post(base + "/validate", params={"format": "turtle"}, json=batch, timeout=300)
        big.update(status=r.status_code, seconds=time.perf_counter() - t, bytes=len(r.content), request_bytes=len(json.dumps(batch)))
        done.set()

    def probe(path: str, samples: list[float], body: bytes | None = None) -> None:
        with httpx.Client(base_url=base, timeout=300) as client:
            while not done.is_set():
                t = time.perf_counter()
                r = client.post(path, content=body, headers={"content-type": "application/json"}) if body else client.get(path)
                if not done.is_set():  # a sample that ends after the big request does not measure it
                    samples.append(time.perf_counter() - t)
                r.raise_for_status()
                time.sleep(0.02)

    thread = threading.Thread(target=run_big)
    thread.start()
    time.sleep(0.3)
    t = time.perf_counter()
    r = httpx.post(base + "/classify", content=card, headers={"content-type": "application/json"}, timeout=300)
    small = {"status": r.status_code, "seconds": time.perf_counter() - t}
    health: list[float] = []
    classify: list[float] = []
    probes = [threading.Thread(target=probe, args=("/health", health)), threading.Thread(target=probe, args=("/classify", classify, card))]
    for p in probes:
        p.start()
    thread.join()
    for p in probes:
        p.join()
    return {"big": big, "small": small, "health": percentiles(health) if health else None, "classify": percentiles(classify) if classify else None}


def abandoned_bodies(base: str, server: Server, count: int) -> dict:
    host, port = base.removeprefix("http://").split(":")
    before = os.fstat(server.log.fileno()).st_size
    for _ in range(count):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"id": "ab')
        time.sleep(0.01)
    time.sleep(1.0)
    httpx.get(base + "/health", timeout=10).raise_for_status()
    grown = os.fstat(server.log.fileno()).st_size - before
    server.log.seek(before)
    text = server.log.read().decode("utf-8", "replace")
    return {"incidents": count, "log_bytes": grown, "log_lines": text.count("\n"), "tracebacks": text.count("Traceback")}


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def slow_headers(base: str, pid: int, drippers: int, seconds: float, flood: int) -> dict:
    """Drip header bytes on many connections, then open many silent ones; what the server answers and holds."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, drippers + flood + 256)), hard))
    host, port = base.removeprefix("http://").split(":")
    baseline = open_files(pid)

    def measure(sockets: list[socket.socket], until: float, drip: bool) -> dict:
        answered: dict[str, list[float]] = {}
        open_ = set(range(len(sockets)))
        peak = open_files(pid)
        start = time.perf_counter()
        for s in sockets:
            s.setblocking(False)
        while open_ and time.perf_counter() < until:
            for i in list(open_):
                s = sockets[i]
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    if drip:
                        try:
                            s.send(b"X")
                        except OSError:
                            pass
                    continue
                except OSError:
                    data = b""
                status = data[9:12].decode("ascii", "replace") if data.startswith(b"HTTP/1.1 ") else "closed"
                answered.setdefault(status, []).append(time.perf_counter() - start)
                open_.discard(i)
            peak = max(peak, open_files(pid))
            time.sleep(0.5 if drip else 0.05)
        for s in sockets:
            s.close()
        return {
            "connections": len(sockets),
            "answered": {k: {"n": len(v), "median_s": sorted(v)[len(v) // 2], "max_s": max(v)} for k, v in answered.items()},
            "still_open_at_end": len(open_),
            "server_open_files_peak_over_baseline": peak - baseline,
        }

    drip = []
    for _ in range(drippers):
        try:
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            drip.append(s)
        except OSError:
            break
    dripping = measure(drip, time.perf_counter() + seconds, drip=True)
    time.sleep(1.0)
    silent = []
    for _ in range(flood):
        try:
            silent.append(socket.create_connection((host, int(port)), timeout=5))
        except OSError:
            break
    flooded = measure(silent, time.perf_counter() + seconds, drip=False)
    time.sleep(1.0)
    t = time.perf_counter()
    health = httpx.get(base + "/health", timeout=30).status_code
    return {"dripping": dripping, "flood": flooded, "health_after": health, "health_after_s": time.perf_counter() - t, "open_files_baseline": baseline}


def minimal_cards(n: int) -> list[dict]:
    """Cards with only the required fields (about 140 bytes each): each leaves many facts unstated, so SHACL
    finds several results per card and the Turtle report is about 100 times the request."""
    sections = {"substance": {"kind": "cells"}, "process": {"manipulations": []}, "function": {"intended_use": "treatment", "mechanism": ["pharmacological"]}}
    return [{"id": f"m{i}", **sections} for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=45)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--levels", type=int, default=25, help="doublings of a 16-character string in the size bomb (25: 512 MiB)")
    parser.add_argument("--abandon", type=int, default=100)
    parser.add_argument("--drippers", type=int, default=300, help="slow headers: connections dripping header bytes")
    parser.add_argument("--drip-seconds", type=float, default=20.0, help="slow headers: how long each phase is watched")
    parser.add_argument("--flood", type=int, default=1000, help="slow headers: silent connections opened at once")
    parser.add_argument("--only", action="append", choices=["starvation", "bomb", "lock", "abandon", "headers"])
    parser.add_argument("--label", default="", help="a word for the results file (before, after...)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    only = set(args.only or ["starvation", "bomb", "lock", "abandon", "headers"])
    card = json.dumps(json.loads(EXAMPLES.read_text(encoding="utf-8"))[0]).encode()
    report: dict = {
        "meta": {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "label": args.label,
            "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "pythonpath": os.environ.get("PYTHONPATH", ""),
            "args": {k: str(v) for k, v in vars(args).items()},
        }
    }
    server = Server()
    try:
        server.first_answer(json.loads(card))
        if "lock" in only:
            report["card_lock"] = card_lock(server.base, card, minimal_cards(1000))
            print("card lock:", json.dumps(report["card_lock"]), flush=True)
        if "headers" in only:
            report["slow_headers"] = slow_headers(server.base, server.process.pid, args.drippers, args.drip_seconds, args.flood)
            print("slow headers:", json.dumps(report["slow_headers"]), flush=True)
        if "abandon" in only:
            report["abandoned_bodies"] = abandoned_bodies(server.base, server, args.abandon)
            print("abandoned bodies:", json.dumps(report["abandoned_bodies"]), flush=True)
        if "bomb" in only:
            report["size_bomb"] = size_bomb(server.base, server.process.pid, args.levels)
            print("size bomb:", json.dumps(report["size_bomb"]), flush=True)
        if "starvation" in only:
            report["starvation"] = starvation(server.base, args.clients, args.duration, card)
            print("starvation:", json.dumps(report["starvation"]), flush=True)
    finally:
        server.stop()
    report["meta"]["loadavg_at_end"] = os.getloadavg()
    out = args.out or RESULTS_DIR / f"reliability-{args.label + '-' if args.label else ''}{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
