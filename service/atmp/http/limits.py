"""Request-size limits: the body byte limit, enforced as bytes arrive (also for chunked bodies).

:class:`TooLarge` is what every size check raises (body bytes, cards per batch); the error handlers turn it
into a 413.
"""

from fastapi.responses import JSONResponse


class TooLarge(Exception):
    """413: a body over the byte limit or a batch over the card limit."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, from ``Content-Length`` or by counting chunks as they arrive."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

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

        async def counted_receive():
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(message)
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
