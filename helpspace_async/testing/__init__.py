"""An embedded HelpSpace-compatible server for trying things out and for tests.

Like stripe-mock or moto: `helpspace serve` runs it; `HelpSpaceServer` is an async
context manager; `ServerThread` runs it for sync code; the pytest plugin
(`pytest_plugins = ["helpspace_async.testing.pytest_plugin"]`) offers fixtures.
"""

from .hostile import Hostility
from .realism import Realism
from .server import DEMO_CLIENT_ID, DEMO_TOKEN, HelpSpaceServer, ServerThread
from .store import Store

__all__ = ["DEMO_CLIENT_ID", "DEMO_TOKEN", "HelpSpaceServer", "Hostility", "Realism", "ServerThread", "Store"]
