"""Run the embedded server: as an async context manager, or in a thread for sync code.

    async with HelpSpaceServer(tickets=1000, seed=7) as server:
        async with HelpSpaceClient(**server.client_settings) as hs: ...
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import fields
from typing import Any

from aiohttp import web

from ..client import HelpSpaceClient
from .app import build_app
from .hostile import Hostility
from .people import People
from .realism import Realism
from .store import Store

DEMO_TOKEN = "demo-token"
DEMO_CLIENT_ID = "demo-client"


class HelpSpaceServer:
    """A HelpSpace-compatible API on 127.0.0.1 (port 0 = a free one)."""

    def __init__(
        self,
        *,
        tickets: int = 0,
        seed: int = 1,
        db: str | None = None,
        token: str = DEMO_TOKEN,
        client_id: str = DEMO_CLIENT_ID,
        host: str = "127.0.0.1",
        port: int = 0,
        hostile: Hostility | None = None,
        **realism: Any,
    ) -> None:
        known = {f.name for f in fields(Realism) if f.init}
        unknown = set(realism) - known
        if unknown:
            raise TypeError(f"unknown server options: {', '.join(sorted(unknown))}")
        self.store = Store(tickets=tickets, seed=seed, db_path=db)
        self.realism = Realism(seed=seed, **realism)
        self.hostile = hostile
        self.people = People(self.store, seed)
        self.token, self.client_id, self.host, self.port = token, client_id, host, port
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def client_settings(self) -> dict[str, str]:
        """Keyword arguments for `HelpSpaceClient(**server.client_settings)`."""
        return {"base_url": self.base_url, "token": self.token, "client_id": self.client_id}

    def client(self, **options: Any) -> HelpSpaceClient:
        """A client pointed at this server with its credentials (open it with `async with`)."""
        return HelpSpaceClient(self.base_url, self.token, self.client_id, **options)

    def ticket_count(self) -> int:
        """Tickets that exist now (not deleted)."""
        return len(self.store.live)

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point the CLI at this server."""
        return {"HELPSPACE_BASE_URL": self.base_url, "HELPSPACE_TOKEN": self.token, "HELPSPACE_CLIENT_ID": self.client_id}

    async def start(self) -> HelpSpaceServer:
        app = build_app(self.store, self.realism, token=self.token, client_id=self.client_id, hostile=self.hostile, people=self.people)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.close()

    async def __aenter__(self) -> HelpSpaceServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ServerThread:
    """The server on its own event loop in a daemon thread, for sync tests and subprocess CLIs."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self.server: HelpSpaceServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="helpspace-server")

    def __enter__(self) -> HelpSpaceServer:
        self._thread.start()

        async def start() -> HelpSpaceServer:
            return await HelpSpaceServer(**self._options).start()

        self.server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout=120)
        return self.server

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` on the server's loop (for touching the store while it serves)."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=60)

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
