#!/usr/bin/env python
"""Benchmark ``atmp diff``: what a rule-change report costs on the catalogue and on generated card sets.

    .venv/bin/python benchmarks/diff.py                  # catalogue + 1,000 and 10,000 generated cards, 3 runs each
    .venv/bin/python benchmarks/diff.py --sizes 1000 --runs 5

Each run is a fresh ``atmp diff`` process (Python start-up, imports, both ontologies parsed, both classifications,
the rule comparison, JSON out) comparing the shipped ontology with a copy where culture expansion is no longer a
substantial manipulation; the median wall time and the peak RSS (``ru_maxrss`` of the child) are reported. Results
also go to ``benchmarks/results/diff-<time>.json``. No figure is asserted by a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rdflib import OWL, Graph
from rdflib.collection import Collection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atmp.core.rules.ontology import ATMP  # noqa: E402
from atmp.core.rules.resources import catalogue_file, ontology_file  # noqa: E402

from benchmarks.cardgen import generate_cards  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def edited_copy(folder: Path) -> Path:
    g = Graph().parse(ontology_file())
    for cls, add in ((ATMP.SubstantialManipulation, False), (ATMP.NonSubstantialManipulation, True)):
        coll = Collection(g, g.value(g.value(cls, OWL.equivalentClass), OWL.oneOf))
        items = [*coll, ATMP.manip_culture_expansion] if add else [i for i in coll if i != ATMP.manip_culture_expansion]
        coll.clear()
        for i in items:
            coll.append(i)
    path = folder / "edited.ttl"
    g.serialize(path, format="turtle")
    return path


def run_once(args: list[str]) -> tuple[float, float, int, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "atmp.cli", "diff", *args, "--format", "json"], capture_output=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr.decode())
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(rss, before) / 1024, len(json.loads(proc.stdout)["moved"]), proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000], help="generated card-set sizes (besides the catalogue)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    meta = run_meta()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        edited = edited_copy(folder)
        sets = [("catalogue", ["--catalogue", str(catalogue_file())], len(json.loads(catalogue_file().read_text(encoding="utf-8"))))]
        for n in args.sizes:
            path = folder / f"gen-{n}.json"
            path.write_text(json.dumps(generate_cards(n, seed=18)), encoding="utf-8")
            sets.append((f"generated-{n}", ["--cards", str(path)], n))
        for name, extra, n in sets:
            runs = [run_once([str(ontology_file()), str(edited), *extra]) for _ in range(args.runs)]
            row = {
                "set": name,
                "cards": n,
                "median_s": round(statistics.median(r[0] for r in runs), 3),
                "peak_rss_mib": round(max(r[1] for r in runs), 1),
                "moved": runs[0][2],
                "exit": runs[0][3],
            }
            rows.append(row)
            print(f"{name:<18} {n:>6} cards  median {row['median_s']:>7.3f} s  peak RSS {row['peak_rss_mib']:>7.1f} MiB  moved {row['moved']}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"diff-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    meta["loadavg_at_end"] = os.getloadavg()
    out.write_text(json.dumps({"benchmark": "atmp diff", "runs": args.runs, "meta": meta, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out} (commit {meta['commit'][:10]}, load {meta['loadavg_at_start'][0]:.1f} -> {meta['loadavg_at_end'][0]:.1f}, {meta['cpus']} CPUs)")
    return 0


def run_meta() -> dict:
    """What a figure quoted from this run must name: when, which commit, how busy the machine was."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"started": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit, "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()}


if __name__ == "__main__":
    sys.exit(main())
