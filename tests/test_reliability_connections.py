"""Issue 34, item 4: slow request headers time out (408) and open connections are capped (503 + Retry-After at once).

Against a real ``atmp serve`` on 127.0.0.1 with small limits (a 1 s header time limit, 12 connections), so each
test runs in seconds; every loop is bounded in count and time.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.service_support import running_server

LIMITS = {"ATMP_HEADER_TIMEOUT": "1", "ATMP_MAX_CONNECTIONS": "12", "ATMP_KEEP_ALIVE_TIMEOUT": "2", "ATMP_SPARQL_WORKERS": "1"}


@pytest.fixture(scope="module")
def server():
    with running_server(env=LIMITS) as (base, process, _):
        yield int(base.rsplit(":", 1)[1]), base, process


def read_all(s: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes (or the deadline passes)."""
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            part = s.recv(4096)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not part:
            return data + b"<closed>"
        data += part
    return data


def open_files(process) -> int:
    import os

    return len(os.listdir(f"/proc/{process.pid}/fd"))


def test_a_client_dripping_its_headers_gets_408_and_is_closed(server):
    port, base, _ = server
    drippers = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        drippers.append(s)
    started = time.monotonic()
    replies = [b""] * len(drippers)
    while time.monotonic() - started < 4 and not all(r.endswith(b"<closed>") for r in replies):  # bounded: 4 s
        for i, s in enumerate(drippers):
            if replies[i].endswith(b"<closed>"):
                continue
            try:
                s.sendall(b"X")  # one header byte every 0.2 s: never a whole header block
            except OSError:
                pass
            replies[i] += read_all(s, time.monotonic() + 0.04)
        time.sleep(0.2)
    waited = time.monotonic() - started
    for s in drippers:
        s.close()
    assert all(r.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in r and r.endswith(b"<closed>") for r in replies), replies
    assert 0.8 < waited < 3.5, waited
    assert httpx.get(base + "/health", timeout=10).json()["connections"]["header_timeouts"] >= 5


def test_a_silent_connection_is_timed_out_too(server):
    port, _, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        started = time.monotonic()
        reply = read_all(s, started + 4)
    assert reply.startswith(b"HTTP/1.1 408") and reply.endswith(b"<closed>") and 0.8 < time.monotonic() - started < 3.5


def test_connections_over_the_cap_get_503_at_once_and_open_files_stay_bounded(server):
    port, base, process = server
    time.sleep(1.5)  # the other tests' connections are gone
    before = open_files(process)
    held, refused, started = [], [], time.monotonic()
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finished: each holds a connection
        held.append(s)
    for s in held:
        reply = read_all(s, time.monotonic() + 0.05)
        if reply.startswith(b"HTTP/1.1 503"):
            refused.append(reply)
    quick = time.monotonic() - started
    assert len(refused) >= 40 - 12, f"{len(refused)} of 40 refused"
    assert all(b"retry-after: 1" in r.lower() and b"limit of 12 open connections" in r for r in refused)
    assert quick < 3.0, "refused at once, not after the header time limit"
    time.sleep(max(0.0, started + 0.85 - time.monotonic()))  # the refused have closed (0.5 s), the held not yet timed out (1 s)
    assert open_files(process) - before <= 12 + 2, "open connections are bounded by the cap"
    time.sleep(1.5)  # the held ones have timed out in their headers, the refused have closed
    after = open_files(process)
    for s in held:
        s.close()
    assert after - before <= 2, f"{after - before} more open files than before"
    assert httpx.get(base + "/health", timeout=10).status_code == 200
