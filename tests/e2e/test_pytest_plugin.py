"""The `helpspace_server` fixture, as a user's test suite would use it (pytest-asyncio strict mode)."""

from __future__ import annotations

USER_TEST = '''
import pytest

from helpspace_async import HelpSpaceClient

pytest_plugins = ["helpspace_async.testing.pytest_plugin"]


@pytest.mark.asyncio
async def test_my_code_against_the_embedded_server(helpspace_server):
    async with HelpSpaceClient(**helpspace_server.client_settings) as hs:
        assert await hs.tickets.count() == 200
        ids = [t["id"] async for t in hs.tickets.iter()]
    assert sorted(ids) == list(range(1, 201))
'''


def test_the_fixture_serves_200_seeded_tickets_in_strict_mode(pytester):
    pytester.makepyfile(test_user=USER_TEST)
    pytester.makeini("[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
