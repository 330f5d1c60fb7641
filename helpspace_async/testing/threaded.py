"""Any aiohttp handler on 127.0.0.1 in a daemon thread: stand-ins for other services
(an old helpdesk's file host, say) in tests and benchmarks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    """A request the thread was sent, as tests check it."""

    path: str
    path_qs: str
    headers: dict[str, str]


class HandlerThread:
    """`with HandlerThread(handler) as base_url:` serves every GET path with `handler` (or a
    subclass's `handle`), and keeps what it was sent in `seen`."""

    def __init__(self, handler: Handler | None = None) -> None:
        self._handler = handler or self.handle
        self.seen: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError("give a handler, or define handle() in a subclass")

    async def _recorded(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path, request.path_qs, dict(request.headers)))
        return await self._handler(request)

    def __enter__(self) -> str:
        self._thread.start()

        async def start() -> str:
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._recorded)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

        return asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
