"""Connections, bounded: a time limit for request headers and a cap on open connections, in uvicorn's own protocol.

uvicorn (h11) times out only an *idle* kept-alive connection (``timeout_keep_alive``): a client that opens a
connection and sends its request line and headers a byte at a time is never timed out, and every such connection
is held (300 dripping connections stayed open and unanswered for 45 s; 5,000 held 5,013 open files). Its
``limit_concurrency`` answers 503 only once a request's headers are complete, so a dripping client is never
counted against it. :class:`GuardedH11Protocol` is uvicorn's ``H11Protocol`` with two additions:

* **header time limit** — from a connection's opening, and from the first byte of each next request on a
  kept-alive connection, the request line and headers must be complete within ``header_timeout`` seconds;
  otherwise the client gets ``408 Request Timeout`` (JSON, ``Connection: close``) and the connection is closed.
  The body has its own limit (:class:`atmp.http.limits.BodyLimit`, ``body_timeout`` between parts);
* **connection cap** — a connection beyond ``max_connections`` open ones is answered ``503`` with
  ``Retry-After`` at once and closed, before anything of it is read, so open files stay bounded (by twice the
  cap: refused connections linger half-open for half a second so the 503 is read, at most ``max_connections``
  of them at a time).

:func:`uvicorn_options` gives ``atmp serve`` the protocol and uvicorn's own limits that go with it
(``h11_max_incomplete_event_size`` for the header bytes, ``timeout_keep_alive``, ``limit_concurrency``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Settings

log = logging.getLogger("atmp.service")

STATS = {"refused": 0, "header_timeouts": 0}  # this process's counts since start (GET /health shows them)
REFUSED_LINGER = 0.5  # seconds a refused connection stays half-open, so its 503 is read before the close
_LINGERING = [0]  # refused connections lingering now


def _raw_response(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 response as bytes: written before h11 has seen a request, so not through h11."""
    body = json.dumps({"detail": message}).encode("utf-8")
    lines = [f"HTTP/1.1 {status} {reason}", "content-type: application/json", f"content-length: {len(body)}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header time limit and a cap on open connections (see the module docstring)."""

    header_timeout: float = 10.0
    max_connections: int = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # -- the cap
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._arm()  # a new connection must send its request headers in time (sending nothing included)

    def _refuse(self, transport: asyncio.Transport) -> None:
        self._refused = True
        self.transport = transport
        STATS["refused"] += 1
        message = f"the server holds its limit of {self.max_connections} open connections; try again shortly"
        transport.write(_raw_response(503, "Service Unavailable", message, {"Retry-After": "1"}))
        # close after a moment, not at once: closing with the client's request unread would reset the connection,
        # and the reset can discard the 503 before the client reads it. Reading stops. At most max_connections
        # refused ones linger at a time; beyond that a flood is closed at once, so open files stay under twice the cap
        transport.pause_reading()
        if _LINGERING[0] >= self.max_connections:
            transport.close()
            return
        if transport.can_write_eof():
            transport.write_eof()
        _LINGERING[0] += 1
        self.loop.call_later(REFUSED_LINGER, self._end_linger, transport)

    @staticmethod
    def _end_linger(transport: asyncio.Transport) -> None:
        _LINGERING[0] -= 1
        transport.close()

    # -- the header time limit
    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection (already armed on a new one)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in: the time limit is met
            self._disarm()

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport is None or self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        STATS["header_timeouts"] += 1
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning("%s: request headers incomplete after %g s: 408, connection closed", client, self.header_timeout)
        self._unset_keepalive_if_required()
        self.transport.write(_raw_response(408, "Request Timeout", f"the request headers did not arrive within {self.header_timeout:g} s; send them whole"))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(header_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with these limits (uvicorn instantiates the class it is given)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_timeout": float(header_timeout), "max_connections": int(max_connections)})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound connections, from the service settings."""
    return {
        "http": guarded_protocol(settings.header_timeout, settings.max_connections),
        "h11_max_incomplete_event_size": settings.max_header_bytes,  # request line and headers over this: 400
        "timeout_keep_alive": settings.keep_alive_timeout,  # an idle kept-alive connection is closed after this
        # requests in progress, those whose client has gone included: 503 beyond. One more than the connection cap,
        # because uvicorn counts the asking connection among the open ones (which the cap already bounds)
        "limit_concurrency": settings.max_connections + 1,
    }
