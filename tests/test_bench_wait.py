"""The benchmark's process wait (benchmarks/run.py ``wait_exactly``): a blocking wait with a kill at the budget."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from benchmarks.run import wait_exactly


def _start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def _running_in_group(pgid: int) -> list[int]:
    out = []
    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return out


def test_a_process_that_ends_is_reported_with_its_exit_status():
    proc = _start("raise SystemExit(3)")
    assert wait_exactly(proc, 60) is True
    assert proc.returncode == 3


def test_a_process_over_budget_is_killed_with_its_group():
    # the child starts a grandchild in its group; both must go (a batch's forked workers do likewise)
    proc = _start("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(20)']); time.sleep(20)")
    assert wait_exactly(proc, 1.0) is False
    assert proc.returncode == -9
    # the group was sent SIGKILL; on a busy machine the grandchild takes a moment to die: allow the kernel 5 s to deliver
    deadline = time.monotonic() + 5
    while _running_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running_in_group(proc.pid) == []
