"""A stand-in for the old helpdesk's attachment host, on 127.0.0.1 in a thread."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class FileHost:
    def __init__(self, size: int = 20_000) -> None:
        self.payload = b"x" * size
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        return web.Response(body=self.payload, content_type="application/pdf")

    def __enter__(self) -> str:
        self.thread.start()

        async def start() -> str:
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            self.runner = web.AppRunner(app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
