"""A stand-in for the old helpdesk's attachment host: every path answers the same file."""

from __future__ import annotations

from aiohttp import web

from helpspace_async.testing.threaded import HandlerThread


class FileHost(HandlerThread):
    def __init__(self, size: int = 20_000) -> None:
        payload = b"x" * size

        async def handle(request: web.Request) -> web.Response:
            return web.Response(body=payload, content_type="application/pdf")

        super().__init__(handle)
