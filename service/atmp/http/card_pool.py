"""The card workers: every piece of card work of the service runs in one of these processes, never in the server.

``POST /classify``, ``/validate`` (JSON and Turtle), ``/whatif`` and ``/report`` send their body to a worker
(:mod:`atmp.http.card_worker`), which parses it with the one decoder, does the work and answers bytes. The
server's event loop only waits (a thread per running job blocks on the pipe, none while a request queues), so
``/health`` and a one-card request are never behind a big batch's CPU time or its hold on the GIL. Requests take
turns (:class:`atmp.http.scheduler.Turns`): a batch goes chunk by chunk (``card_chunk`` cards), and work that
cannot be split (a Turtle report, a what-if, one card's report) is *long* and takes at most all workers but one.

The time limit (``card_timeout``) covers a whole request, waiting included: past it a waiting request gets 503 with
``Retry-After``, and a running job is stopped by killing its worker, which is replaced (about a second). A worker
that dies is replaced the same way; the request it was serving gets 503.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from atmp.core.card.errors import CardError

from .limits import TooLarge
from .pool import Worker, start_ready, stop_workers
from .scheduler import TooSlow, Turns
from .settings import Settings

log = logging.getLogger("atmp.service.cards")

ENTRY = "atmp.http.card_worker:worker_main"
RETRY_AFTER = "2"  # a replaced worker is ready in about a second


class WorkerStopped(TooSlow):
    """The worker serving a job died (it is being replaced): 503 with Retry-After, like a request past its time."""


class CardPool:
    """``card_workers`` worker processes that hold the rules and do card jobs one at a time, in turns."""

    STARTUP_TIMEOUT = 120.0

    def __init__(self, settings: Settings):
        self.settings = settings
        self.size = max(1, settings.card_workers)
        self.timeout = settings.card_timeout
        self.init = {
            "ontology": str(settings.ontology) if settings.ontology else None,
            "catalogue": str(settings.catalogue) if settings.catalogue else None,  # the precedents of /similar: the service's own
            "max_body_bytes": settings.max_body_bytes,
            "max_batch": settings.max_batch,
            "max_report_triples": settings.max_report_triples,
        }
        self.turns: Turns[Worker] = Turns(long_limit=self.size - 1 if self.size > 1 else 1)
        self._workers: set[Worker] = set()
        self._lock = threading.Lock()
        self._threads = None  # an anyio limiter, made on first use inside the event loop
        self._closed = False
        self._started = False
        self._bound = False  # the event loop is known: ready workers join the turns (before that they are parked)
        self._parked: list[Worker] = []
        self.restarts = 0
        self.refused = 0  # requests that ran out of time (waiting or running)

    # -- lifecycle
    def spawn(self) -> None:
        """Start the workers in the background (each loads the rules, under a second from the compiled cache), without
        an event loop: the service calls this first, so they load while it builds the catalogue. Ready ones are parked."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        for _ in range(self.size):
            self._spawn_async()

    def start(self, reopen: bool = False) -> None:
        """On the app's event loop (its lifespan): spawn if not yet (or again after ``close``), and let ready workers take turns."""
        with self._lock:
            if reopen and self._closed:
                self._closed, self._started = False, False
        self.spawn()
        self.turns.bind(asyncio.get_running_loop())
        with self._lock:
            self._bound = True
            parked, self._parked = self._parked, []
        for worker in parked:
            self.turns.add(worker)

    async def wait_ready(self, timeout: float) -> bool:
        """Wait (on the loop) until every worker is ready, at most ``timeout`` s: the app answers once it can do card work."""
        deadline = time.monotonic() + timeout
        while self.ready < self.size and time.monotonic() < deadline and not self._closed:
            await asyncio.sleep(0.02)
        if self.ready < self.size:
            log.error("only %d of %d card workers are ready after %g s", self.ready, self.size, timeout)
        return self.ready == self.size

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, name="card-worker-start", daemon=True).start()

    def _spawn(self) -> None:
        worker = start_ready(lambda: Worker([self.init], entry=ENTRY), self.STARTUP_TIMEOUT, "card worker", lambda: self._closed, log)
        if worker is None:
            return
        with self._lock:
            if not self._closed:
                self._workers.add(worker)
                if self._bound:
                    self.turns.add_threadsafe(worker)
                else:
                    self._parked.append(worker)
                return
        worker.kill()

    def _replace(self, worker: Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            closed = self._closed
        worker.kill()
        if not closed:
            self.restarts += 1
            self._spawn_async()

    @property
    def ready(self) -> int:
        with self._lock:
            return len(self._workers)

    def close(self) -> None:
        self._threads = None  # limiters belong to the loop that made them
        with self._lock:
            self._closed = True
            self._bound = False
            self._parked = []
            workers = list(self._workers)
            self._workers.clear()
        self.turns.clear()
        stop_workers(workers)

    # -- jobs
    async def run(self, job: dict, deadline: float, *, long: bool = False) -> Any:
        """One job on the next worker in turn; its value, or the error it stands for (CardError, TooLarge, TooSlow)."""
        import anyio

        if self._closed:
            raise WorkerStopped("the card workers are shutting down; try again")
        try:
            worker = await self.turns.take(deadline, long)
        except TimeoutError:
            self.refused += 1
            raise TooSlow(f"no card worker was free within the time limit of {self.timeout:g} s; try again or split the batch") from None
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(self.size)
        try:
            reply = await anyio.to_thread.run_sync(self._exchange, worker, job, deadline, limiter=self._threads)
        except BaseException:
            self.turns.release_long(long)
            raise
        self.turns.give_back(worker, long)
        return self._value(reply)

    def _exchange(self, worker: Worker, job: dict, deadline: float) -> tuple:
        """Send the job and wait for the reply (in a thread); a worker past the deadline or dead is replaced."""
        try:
            worker.outbox.send(job)
            if not worker.inbox.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                self.refused += 1
                raise TooSlow(f"the request took longer than the limit of {self.timeout:g} s and was stopped; split the batch or try again")
            return worker.inbox.recv()
        except (EOFError, OSError, ValueError) as exc:
            code = worker.process.poll()
            self._replace(worker)
            log.error("card worker stopped (exit %s): %s", code, exc)
            raise WorkerStopped("the card worker serving this request stopped; it is being replaced, try again") from None

    @staticmethod
    def _value(reply: tuple) -> Any:
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "card_error":
            raise CardError.from_data(reply[1])
        if kind == "too_large":
            raise TooLarge(reply[1])
        raise RuntimeError(f"card worker failed:\n{reply[1]}")

    # -- a request: the first job carries the body, the rest go chunk by chunk
    async def batch(self, op: str, body: bytes, *, long: bool = False, chunk: int | None = None, **options: Any) -> tuple[list, bool]:
        """``op`` over the cards of ``body``, ``chunk`` cards per job in turn with other requests (long work: one card
        per job, or the whole batch in one job when ``chunk`` is 0). Returns (per-card or per-batch outputs, was_array)."""
        deadline = time.monotonic() + self.timeout
        size = self.settings.card_chunk if chunk is None else chunk
        first = await self.run({"op": op, "body": body, "first": size if size else 0, **options}, deadline, long=long and size > 0)
        outputs = list(first["out"]) if isinstance(first["out"], list) else ([first["out"]] if first["out"] is not None else [])
        rest: list[bytes] = first["rest"]
        step = size or len(rest)
        for start in range(0, len(rest), max(1, step)):
            part = b"[" + b",".join(rest[start : start + step]) + b"]"
            value = await self.run({"op": op, "cards": part, **options}, deadline, long=long)
            outputs.extend(value["out"] if isinstance(value["out"], list) else [value["out"]])
        return outputs, first["was_array"]
