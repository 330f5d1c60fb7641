"""Fixtures for your own tests: `pytest_plugins = ["helpspace_async.testing.pytest_plugin"]`.

Needs pytest-asyncio; works in its strict mode (the default) and in auto mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .server import HelpSpaceServer


@pytest_asyncio.fixture
async def helpspace_server() -> AsyncIterator[HelpSpaceServer]:
    """An embedded server with 200 seeded tickets on a free loopback port."""
    async with HelpSpaceServer(tickets=200, seed=1) as server:
        yield server
