"""SPARQL queries in worker processes: bounded in time by killing the worker, bounded in size by refusing.

pyoxigraph cannot cancel a query, so queries run in worker *processes* (:class:`SparqlPool`, each holding
its own copy of the dataset): a query that exceeds the time limit is abandoned by killing its worker, and a
fresh worker takes its place. At most ``max_results`` solutions (or triples for ``CONSTRUCT``/``DESCRIBE``)
are answered; a query that would return more is refused with 400 and a message saying to add ``LIMIT``.
Refused, not truncated: a silently cut table (say, in a CSV opened in a spreadsheet) is easy to mistake for
the whole answer. Results are written by the one writer, :mod:`atmp.kg.results`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from atmp.kg.results import serialize_boolean, serialize_solutions

from .guard import SparqlError, _first_line, check_read_only
from .negotiation import negotiate

log = logging.getLogger("atmp.service.sparql")

MEMORY_MESSAGE = "the query needed more memory than a worker may use ({mib} MiB) and was stopped; narrow it down"
RESTART_RETRY = {"Retry-After": "2"}  # every 503 says when to come back: a stopped worker's replacement loads in about a second
GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES, "rdfxml": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}


@dataclass
class Reply:
    """What the endpoint sends back: status, media type, body, extra headers."""

    status: int
    media_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, exc: SparqlError) -> Reply:
        return cls(exc.status, "application/json", json.dumps({"detail": exc.message}, ensure_ascii=False).encode("utf-8"), dict(exc.headers))


def _graphs(values) -> list[ox.NamedNode]:
    out = []
    for value in values or []:
        try:
            out.append(ox.NamedNode(value))
        except (ValueError, TypeError):
            raise SparqlError(f"invalid graph IRI {str(value)[:200]!r}") from None
    return out


def execute(store: ox.Store, request: dict, prefixes: dict[str, str] | None = None) -> Reply:
    """Check, run and serialise one query (what a worker process does for each request)."""
    try:
        text = request.get("query")
        check_read_only(text)
        default_graph = _graphs(request.get("default_graph"))
        named_graphs = _graphs(request.get("named_graphs"))
        max_results = int(request.get("max_results", 10_000))
        max_bytes = int(request.get("max_bytes", 64 * 1024 * 1024))
        try:
            result = store.query(
                text,
                use_default_graph_as_union=not default_graph,
                default_graph=default_graph or None,
                named_graphs=named_graphs or None,
            )
        except SyntaxError as exc:
            raise SparqlError(f"invalid SPARQL: {_first_line(exc)}") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise SparqlError(f"cannot run the query: {_first_line(exc)}") from None
        graph_result = isinstance(result, ox.QueryTriples)
        media, fmt = negotiate(graph_result, request.get("accept"), request.get("format"))
        too_many = SparqlError(f"the query returns more than {max_results} results; add LIMIT (and OFFSET to page) or ask for less", status=400)
        too_big = SparqlError(f"the answer is larger than the limit of {max_bytes} bytes; add LIMIT or select fewer or shorter values", status=400)
        size = 0
        try:
            if isinstance(result, ox.QueryBoolean):
                body = serialize_boolean(bool(result), fmt)
            elif graph_result:
                triples = []
                for triple in result:
                    if len(triples) >= max_results:
                        raise too_many
                    size += _term_bytes(triple.subject) + _term_bytes(triple.predicate) + _term_bytes(triple.object)
                    if size > max_bytes:
                        raise too_big
                    triples.append(triple)
                body = ox.serialize(triples, format=GRAPH_FORMATS[fmt], prefixes=prefixes if fmt == "turtle" else None)
            else:
                variables = [v.value for v in result.variables]
                rows = []
                for solution in result:
                    if len(rows) >= max_results:
                        raise too_many
                    row = [solution[v] for v in variables]
                    size += sum(_term_bytes(t) for t in row)
                    if size > max_bytes:
                        raise too_big
                    rows.append(row)
                body = serialize_solutions(variables, rows, fmt)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SparqlError(f"cannot run the query: {_first_line(exc)}") from None
        if len(body) > max_bytes:  # the values fitted, the format's markup did not
            raise too_big
        charset = "; charset=utf-8" if media.startswith("text/") else ""
        return Reply(200, media + charset, body)
    except SparqlError as exc:
        return Reply.error(exc)


def _term_bytes(term) -> int:
    """What a term costs in an answer, at least: its value (UTF-8 is never shorter than the characters)."""
    if term is None:
        return 0
    if isinstance(term, ox.Triple):
        return _term_bytes(term.subject) + _term_bytes(term.predicate) + _term_bytes(term.object)
    return len(term.value) + 2


def _limit_memory(budget_bytes: int) -> None:
    """Cap the worker's address space at what it uses now plus ``budget_bytes`` (RLIMIT_AS): a query that builds a
    huge value fails its allocation and the worker ends, instead of the machine swapping."""
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        used = 0
    limit = used + budget_bytes
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a hard limit below ours already: keep it
        pass


def load_store(dataset: bytes) -> ox.Store:
    store = ox.Store()
    store.load(input=dataset, format=ox.RdfFormat.N_QUADS)
    return store


def _watch_parent(parent: int) -> None:
    """A worker must not outlive the service (its query may run long): exit when the parent is gone."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def worker_main(read_fd: int, write_fd: int, parent: int, memory_bytes: int = 0) -> None:
    """A worker process (``python -c "...worker_main(r, w, ppid)"``): receive the dataset and prefixes, load
    them, say ready, then answer requests one at a time until None or the end of the pipe."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    try:
        dataset, prefixes = inbox.recv_bytes(), inbox.recv()
    except (EOFError, OSError):  # the service stopped before this worker was ready: nothing to say
        return
    store = load_store(dataset)
    del dataset
    check_read_only("ASK {}")  # import and warm the parser before saying ready
    if memory_bytes:
        _limit_memory(memory_bytes)
    outbox.send("ready")
    while True:
        try:
            request = inbox.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply = execute(store, request, prefixes)
        except MemoryError:
            reply = Reply.error(SparqlError(MEMORY_MESSAGE.format(mib=memory_bytes // 2**20), status=400))
        except Exception as exc:  # noqa: BLE001 - the worker answers every request; the parent logs it
            reply = Reply(500, "application/json", json.dumps({"detail": "internal error while running the query", "error": type(exc).__name__}).encode())
        outbox.send(reply)


# ============================================================================================ the pool
class Worker:
    """One worker process and its two pipe ends; ``entry`` (``module:function``) is what it runs, ``messages`` what
    it is sent first (bytes as they are, anything else pickled). The SPARQL and the card workers are both these.

    A plain subprocess (not :mod:`multiprocessing`), so that starting one never re-imports the host program's
    ``__main__`` (a notebook, a script without a main guard, a test runner)."""

    def __init__(self, messages: list, memory_bytes: int = 0, entry: str = "atmp.http.pool:worker_main"):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        # the folder that holds the ``atmp`` package (site-packages or a checkout's service/), wherever this module sits
        package_root = str(Path(sys.modules["atmp"].__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([package_root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
        env["RUST_BACKTRACE"] = "0"  # a failed allocation is one line in the log, not a 40-frame backtrace
        module, function = entry.split(":")
        code = f"from {module} import {function}; {function}({to_child_r}, {from_child_w}, {os.getpid()}, {int(memory_bytes)})"
        try:
            self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.outbox = Connection(to_child_w, readable=False)
        self.inbox = Connection(from_child_r, writable=False)
        for message in messages:
            if isinstance(message, bytes):
                self.outbox.send_bytes(message)
            else:
                self.outbox.send(message)

    def kill(self) -> None:
        for action in (self.process.kill, lambda: self.process.wait(5), self.outbox.close, self.inbox.close):
            try:
                action()
            except Exception:  # noqa: BLE001 - best effort
                pass


def start_ready(make, timeout: float, what: str, closed, logger: logging.Logger) -> Worker | None:
    """A worker that said "ready", in up to three attempts (``make()`` starts one), or None (logged; or ``closed()``).

    The SPARQL and the card pools both start their workers this way; each then files a ready one as it needs."""
    for attempt in range(3):
        if closed():
            return None
        try:
            worker = make()
        except Exception:  # noqa: BLE001 - logged; the next attempt may succeed
            logger.exception("cannot start a %s (attempt %d)", what, attempt + 1)
            time.sleep(0.5)
            continue
        try:
            said = worker.inbox.recv() if worker.inbox.poll(timeout) else "no answer"
        except (EOFError, OSError):
            said = "stopped"
        if said == "ready":
            return worker
        logger.error("a %s did not start (attempt %d): %s", what, attempt + 1, said)
        worker.kill()
        time.sleep(0.5)
    return None


def stop_workers(workers: list[Worker]) -> None:
    """Ask each worker to end, give them a second together, then make sure: the pools' shutdown."""
    for worker in workers:
        try:
            worker.outbox.send(None)
        except Exception:  # noqa: BLE001 - it may be gone already
            pass
    for worker in workers:
        try:
            worker.process.wait(1)
        except subprocess.TimeoutExpired:
            pass
        worker.kill()


class SparqlPool:
    """Worker processes that each hold the dataset and run one query at a time, killed on a time-out.

    The time limit covers the whole request: waiting for a free worker counts (503 with ``Retry-After`` when
    the wait uses it up), the rest is the query's (503 when exceeded: the worker is killed and replaced).
    :meth:`submit` is the service's way in: at most ``size`` requests hold a thread (one per worker), at most
    ``queue_size`` more wait *without* a thread, and the next is refused at once (503, ``Retry-After``), so slow
    queries can never take the threads that cards and ``/health`` need. :meth:`run` is the blocking core,
    safe to call from many threads.
    """

    STARTUP_TIMEOUT = 120.0

    def __init__(
        self,
        dataset: bytes,
        *,
        size: int = 2,
        timeout: float = 10.0,
        max_results: int = 10_000,
        prefixes: dict[str, str] | None = None,
        queue_size: int = 8,
        max_bytes: int = 64 * 1024 * 1024,
        memory_bytes: int = 1024 * 1024 * 1024,
    ):
        self.dataset = dataset
        self.size = max(1, size)
        self.timeout = timeout
        self.max_results = max_results
        self.queue = max(0, queue_size)
        self.max_bytes = max_bytes
        self.memory_bytes = memory_bytes
        self._admitted = 0  # requests in submit(), waiting or running; only touched on the event loop
        self._slots = None  # anyio limiters, made on first use inside the event loop
        self.refused = 0
        self.prefixes = dict(prefixes or {})
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._workers: set[Worker] = set()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self.restarts = 0

    # -- lifecycle
    def start(self, reopen: bool = False) -> None:
        """Start the workers (in the background: each loads the dataset, about a second); ``reopen`` after ``close``."""
        with self._lock:
            if reopen and self._closed:
                self._closed, self._started = False, False
            if self._started or self._closed:
                return
            self._started = True
        for _ in range(self.size):
            self._spawn_async()

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, name="sparql-worker-start", daemon=True).start()

    def _spawn(self) -> None:
        worker = start_ready(lambda: Worker([self.dataset, self.prefixes], self.memory_bytes), self.STARTUP_TIMEOUT, "SPARQL worker", lambda: self._closed, log)
        if worker is None:
            return
        with self._lock:
            if not self._closed:
                self._workers.add(worker)
                self._idle.put(worker)
                return
        worker.kill()

    def _discard(self, worker: Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            closed = self._closed
        worker.kill()
        if not closed:
            self.restarts += 1
            self._spawn_async()

    def close(self) -> None:
        self._slots = None  # limiters belong to the event loop that made them; a restarted app gets new ones
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        stop_workers(workers)

    @property
    def ready(self) -> int:
        with self._lock:
            return len(self._workers)

    # -- queries
    def busy(self) -> Reply:
        retry = str(max(1, round(self.timeout / 2)))
        return Reply.error(SparqlError(f"the SPARQL queue is full ({self.size} running, {self.queue} waiting); try again later", status=503, headers={"Retry-After": retry}))

    async def submit(self, request: dict) -> Reply:
        """Run ``request`` from the event loop: bounded queue, no thread while waiting, the wait counted in the time limit."""
        import anyio

        if self._closed:
            return Reply.error(SparqlError("the SPARQL endpoint is shutting down", status=503, headers=RESTART_RETRY))
        if self._admitted >= self.size + self.queue:
            self.refused += 1
            return self.busy()
        if self._slots is None:
            self._slots = (anyio.CapacityLimiter(self.size), anyio.CapacityLimiter(self.size))
        slots, threads = self._slots
        self._admitted += 1
        started = time.monotonic()
        try:
            acquired = False
            with anyio.move_on_after(self.timeout):
                await slots.acquire()
                acquired = True
            if not acquired:
                return Reply.error(SparqlError(f"no SPARQL worker was free within the time limit of {self.timeout:g} s; try again", status=503, headers={"Retry-After": "1"}))
            try:
                remaining = self.timeout - (time.monotonic() - started)
                return await anyio.to_thread.run_sync(self.run, request, remaining, limiter=threads)
            finally:
                slots.release()
        finally:
            self._admitted -= 1

    def run(self, request: dict, timeout: float | None = None) -> Reply:
        """Run one query, blocking: wait for a worker and its answer within ``timeout`` seconds in all (default: the pool's)."""
        if self._closed:
            return Reply.error(SparqlError("the SPARQL endpoint is shutting down", status=503, headers=RESTART_RETRY))
        self.start()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        request = {**request, "max_results": self.max_results, "max_bytes": self.max_bytes}
        try:
            worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return Reply.error(SparqlError(f"all {self.size} SPARQL workers are busy; try again", status=503, headers={"Retry-After": "1"}))
        try:
            worker.outbox.send(request)
            if not worker.inbox.poll(max(0.0, deadline - time.monotonic())):
                self._discard(worker)
                return Reply.error(
                    SparqlError(
                        f"the query exceeded the time limit of {self.timeout:g} s (waiting included) and was stopped; narrow it or add LIMIT", status=503, headers=RESTART_RETRY
                    )
                )
            reply = worker.inbox.recv()
        except (EOFError, OSError, ValueError) as exc:
            code = _exit_code(worker)
            self._discard(worker)
            if code == -signal.SIGABRT:  # a failed allocation under RLIMIT_AS aborts the Rust runtime
                log.warning("SPARQL worker stopped: a query exceeded the memory limit")
                return Reply.error(SparqlError(MEMORY_MESSAGE.format(mib=self.memory_bytes // 2**20), status=400))
            log.error("SPARQL worker failed (exit %s): %s", code, exc)
            return Reply.error(SparqlError("the query stopped its worker; it was restarted", status=503, headers=RESTART_RETRY))
        self._idle.put(worker)
        if reply.status >= 500:
            log.error("SPARQL worker error: %s", reply.body[:500])
        return reply


def _exit_code(worker: Worker) -> int | None:
    try:
        return worker.process.wait(2)
    except subprocess.TimeoutExpired:
        return None
