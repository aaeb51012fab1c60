"""Request limits: the body byte limit, enforced as bytes arrive (also for chunked bodies), and the body read timeout.

:class:`TooLarge` is what every size check raises (body bytes, cards per batch); the error handlers turn it
into a 413.
"""

import asyncio
import logging

from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

log = logging.getLogger("atmp.service")


class TooLarge(Exception):
    """413: a body over the byte limit or a batch over the card limit."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BodyTimeout(Exception):
    """408: the next part of the body did not arrive within the body timeout."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, from ``Content-Length`` or by counting chunks as they arrive."""

    def __init__(self, app, max_bytes: int, body_timeout: float | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body too large: the limit is {self.max_bytes} bytes"
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await JSONResponse(status_code=400, content={"detail": "invalid Content-Length header"})(scope, receive, send)
                    return
                if length > self.max_bytes:
                    await JSONResponse(status_code=413, content={"detail": message})(scope, receive, send)
                    return
        received = 0
        started = False
        body_done = False

        async def counted_receive():
            nonlocal received, body_done
            if body_done or self.body_timeout is None:
                msg = await receive()  # after the body: a wait for the disconnect, which may rightly be long
            else:
                try:
                    msg = await asyncio.wait_for(receive(), self.body_timeout)
                except TimeoutError:
                    raise BodyTimeout(f"the request body stopped arriving for {self.body_timeout:g} s; send it whole") from None
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(message)
                body_done = not msg.get("more_body", False)
            return msg

        async def tracked_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except TooLarge as exc:
            if started:
                raise
            await JSONResponse(status_code=413, content={"detail": exc.message})(scope, receive, send)
        except BodyTimeout as exc:
            log.warning("%s %s: body timeout after %d bytes", scope.get("method"), scope.get("path"), received)
            if not started:
                await JSONResponse(status_code=408, content={"detail": exc.message}, headers={"Connection": "close"})(scope, receive, send)
        except ClientDisconnect:
            # one line per incident, no traceback: a client that goes away mid-body is not a server fault
            log.warning("%s %s: client disconnected after %d bytes of the body", scope.get("method"), scope.get("path"), received)
