"""Card work in turns: the card workers handed out first come, first served, with a deadline per request.

A big batch is split into chunks and asks for a worker once per chunk, queueing again behind whoever asked in the
meantime, so a one-card request waits for at most one chunk of each request ahead of it (holding one lock for a
whole 1,000-card batch made it wait 12.75 s). Work that cannot be split — a Turtle report (one pyshacl run over
the batch), a what-if, one card's report, each up to seconds — is *long*: at most ``long_limit`` workers (all but
one, when there are several) take long work at a time, so chunks and one-card requests always have a worker.
A waiter whose deadline passes gives up (:class:`TooSlow`, 503 with ``Retry-After``) without blocking those
behind it.

:class:`Turns` lives on the event loop (asyncio futures, no thread and no lock while waiting); workers join it
from other threads through :meth:`Turns.add_threadsafe`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Generic, TypeVar

W = TypeVar("W")


class TooSlow(Exception):
    """A card request that used up its time limit (waiting for its turn included): 503."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Turns(Generic[W]):
    """Idle workers and the requests waiting for one, served in arrival order (long work within ``long_limit``)."""

    def __init__(self, long_limit: int):
        self.long_limit = max(1, long_limit)
        self._idle: list[W] = []
        self._waiting: deque[tuple[asyncio.Future, bool]] = deque()
        self._long = 0  # workers doing long work now
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def waiting(self) -> int:
        return sum(1 for future, _ in self._waiting if not future.done())

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the waiters live on (the app's; set when the pool starts)."""
        self._loop = loop

    def add_threadsafe(self, worker: W) -> None:
        """A worker that is ready (from a start-up thread): it joins on the loop."""
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self.add, worker)

    def add(self, worker: W) -> None:
        self._idle.append(worker)
        self._serve()

    def discard(self, worker: W) -> None:
        """A worker that is gone (stopped, killed): never handed out again."""
        if worker in self._idle:
            self._idle.remove(worker)

    def clear(self) -> list[W]:
        idle, self._idle = self._idle, []
        return idle

    async def take(self, deadline: float, long: bool = False) -> W:
        """The next worker for this request, in arrival order; TooSlow when ``deadline`` (``time.monotonic``) passes first."""
        if not self._waiting and self._idle and (not long or self._long < self.long_limit):
            return self._hand(long)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        entry = (future, long)
        self._waiting.append(entry)
        self._serve()  # an idle worker that the waiters ahead may not take (long work over its limit) may be this one's
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - time.monotonic()))
        except (TimeoutError, asyncio.CancelledError):
            if future.done() and not future.cancelled() and future.exception() is None:
                self.give_back(future.result(), long)  # handed over just as the wait ended: pass it on
            else:
                future.cancel()
            raise
        finally:
            try:
                self._waiting.remove(entry)
            except ValueError:
                pass

    def give_back(self, worker: W, long: bool = False) -> None:
        """A worker done with its job (``long`` as it was taken) serves the next eligible waiter."""
        if long:
            self._long -= 1
        self._idle.append(worker)
        self._serve()

    def release_long(self, long: bool) -> None:
        """A worker taken for work that did not give it back (it was discarded): its long slot is free again."""
        if long:
            self._long -= 1
            self._serve()

    def _hand(self, long: bool) -> W:
        if long:
            self._long += 1
        return self._idle.pop(0)

    def _serve(self) -> None:
        while self._idle:
            for entry in self._waiting:
                future, long = entry
                if future.done():
                    continue
                if long and self._long >= self.long_limit:
                    continue  # long work waits for a long slot; short work behind it goes first
                self._waiting.remove(entry)
                future.set_result(self._hand(long))
                break
            else:
                return
