"""The client's behaviour around one request: retries, give-up, pacing, secrets."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import aiohttp
import pytest
from aioresponses import aioresponses

from helpspace_async import (
    AmbiguousCreate,
    AuthError,
    ConfigurationError,
    HelpSpaceClient,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from tests.conftest import SECRET

BASE = "https://api.helpspace.com"
TICKETS = re.compile(r"^https://api\.helpspace\.com/api/v1/tickets(\?.*)?$")
FAST = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.01)
PAGE = {"data": [{"id": 1}], "meta": {"current_page": 1, "last_page": 1, "per_page": 50, "total": 1}}


def client(**kw) -> HelpSpaceClient:
    return HelpSpaceClient(BASE, SECRET, "client-1", retry=kw.pop("retry", FAST), **kw)


async def test_a_503_is_retried_then_succeeds():
    with aioresponses() as m:
        m.get(TICKETS, status=503, body="<html>down</html>")
        m.get(TICKETS, payload=PAGE)
        async with client() as hs:
            page = await hs.tickets.page(1)
            assert [t["id"] for t in page.items] == [1]
            assert hs.stats.retries == 1 and hs.stats.requests == 2


async def test_a_200_that_is_an_html_page_is_read_again():
    """A proxy's maintenance page with status 200 is not a page of tickets: try again, don't stop."""
    with aioresponses() as m:
        m.get(TICKETS, status=200, body="<html><body>Down for maintenance</body></html>", content_type="text/html")
        m.get(TICKETS, payload=PAGE)
        async with client() as hs:
            page = await hs.tickets.page(1)
            assert [t["id"] for t in page.items] == [1] and hs.stats.retries == 1


async def test_gives_up_with_our_typed_error_not_retryerror():
    with aioresponses() as m:
        for _ in range(4):
            m.get(TICKETS, status=502, body="bad gateway")
        async with client() as hs:
            with pytest.raises(ServerError) as info:
                await hs.tickets.page(1)
            assert info.value.status == 502 and hs.stats.requests == 4


async def test_dropped_connections_on_reads_are_retried():
    with aioresponses() as m:
        m.get(TICKETS, exception=aiohttp.ServerDisconnectedError())
        m.get(TICKETS, exception=asyncio.TimeoutError())
        m.get(TICKETS, payload=PAGE)
        async with client() as hs:
            assert (await hs.tickets.page(1)).items == [{"id": 1}]
            assert hs.stats.retries == 2


async def test_retry_after_is_honoured_before_the_next_attempt():
    with aioresponses() as m:
        m.get(TICKETS, status=429, payload={"message": "Too Many Attempts."}, headers={"Retry-After": "0.4"})
        m.get(TICKETS, payload=PAGE)
        async with client() as hs:
            started = time.monotonic()
            await hs.tickets.page(1)
            assert time.monotonic() - started >= 0.35
            assert hs.stats.rate_limited == 1 and hs.limiter.stats.pauses == 1


async def test_a_create_that_loses_its_connection_is_ambiguous_and_sent_once():
    with aioresponses() as m:
        m.post(TICKETS, exception=aiohttp.ServerDisconnectedError())
        m.post(TICKETS, status=201, payload={"data": {"id": 9}})  # would be a duplicate
        async with client() as hs:
            with pytest.raises(AmbiguousCreate) as info:
                await hs.tickets.create({"subject": "s"})
            assert info.value.body == {"subject": "s"}
            assert hs.stats.requests == 0  # no answer was counted
            calls = [k for k in m.requests if k[0] == "POST"]
            assert len(m.requests[calls[0]]) == 1


async def test_a_create_is_retried_only_when_the_server_refused_it():
    with aioresponses() as m:
        m.post(TICKETS, status=429, headers={"Retry-After": "0"}, payload={"message": "Too Many Attempts."})
        m.post(TICKETS, status=503, body="maintenance")
        m.post(TICKETS, status=201, payload={"data": {"id": 9}})
        async with client() as hs:
            assert (await hs.tickets.create({"subject": "s"}))["id"] == 9
    with aioresponses() as m:
        m.post(TICKETS, status=500, payload={"message": "Server Error"})
        m.post(TICKETS, status=201, payload={"data": {"id": 9}})
        async with client() as hs:
            with pytest.raises(ServerError):
                await hs.tickets.create({"subject": "s"})


async def test_401_is_not_retried():
    with aioresponses() as m:
        m.get(TICKETS, status=401, payload={"message": "Unauthenticated."})
        m.get(TICKETS, payload=PAGE)
        async with client() as hs:
            with pytest.raises(AuthError):
                await hs.tickets.page(1)
            assert hs.stats.requests == 1


async def test_filters_and_page_size_are_encoded_as_the_api_wants():
    with aioresponses() as m:
        m.get(TICKETS, payload=PAGE)
        async with client() as hs:
            items = [t async for t in hs.tickets.iter(status=["open", "waiting"], tags=["vip"], created_between="2024-01-01/2024-01-31")]
        assert items == [{"id": 1}]
        (method, url), = m.requests.keys()
        query = str(url).split("?", 1)[1]
        assert "status%5B%5D=open&status%5B%5D=waiting" in query or "status[]=open&status[]=waiting" in query
        assert "per-page=50" in query and "created-between=2024-01-01" in query and "per_page" not in query


async def test_validation_errors_carry_field_errors():
    with aioresponses() as m:
        m.post(TICKETS, status=422, payload={"message": "The given data was invalid.", "errors": {"subject": ["required"]}})
        async with client() as hs:
            with pytest.raises(ValidationError) as info:
                await hs.tickets.create({})
            assert info.value.field_errors == {"subject": ["required"]}


async def test_the_token_never_shows_in_errors_reprs_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    with aioresponses() as m:
        m.get(TICKETS, status=401, payload={"message": "Unauthenticated."})
        m.post(TICKETS, status=422, payload={"message": "bad", "errors": {"x": ["y"]}})
        m.post(TICKETS, exception=aiohttp.ServerDisconnectedError())
        for _ in range(4):
            m.get(re.compile(r".*/tickets/1$"), exception=aiohttp.ClientOSError())
        async with client() as hs:
            seen.append(repr(hs))
            seen.append(str(hs))
            for call in (hs.tickets.page(1), hs.tickets.create({}), hs.tickets.create({}), hs.tickets.get(1)):
                with pytest.raises((AuthError, ValidationError, AmbiguousCreate, TransportError)) as info:
                    await call
                seen += [str(info.value), repr(info.value), repr(info.value.__dict__)]
    seen.append(caplog.text)
    assert all(SECRET not in text for text in seen)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HELPSPACE_TOKEN", SECRET)
    monkeypatch.setenv("HELPSPACE_CLIENT_ID", "cid")
    monkeypatch.setenv("HELPSPACE_BASE_URL", "http://127.0.0.1:9999/")
    hs = HelpSpaceClient()
    assert hs.base_url == "http://127.0.0.1:9999" and hs.client_id == "cid" and SECRET not in repr(hs)


def test_missing_token_and_remote_http_are_refused_with_a_reason(monkeypatch):
    monkeypatch.delenv("HELPSPACE_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="HELPSPACE_TOKEN"):
        HelpSpaceClient(BASE, None, "c")
    with pytest.raises(ConfigurationError, match="unencrypted"):
        HelpSpaceClient("http://helpdesk.example.com", "t", "c")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_after_a_create_is_never_followed_by_a_second_post(status):
    """A 303 after the create POST used to be followed by POSTing the body again (two tickets)."""
    with aioresponses() as m:
        m.post(TICKETS, status=status, headers={"Location": f"{BASE}/api/v1/tickets/9"})
        m.post(TICKETS, status=201, payload={"data": {"id": 10}})  # would be a duplicate
        m.get(f"{BASE}/api/v1/tickets/9", payload={"data": {"id": 9}})
        async with client() as hs:
            with pytest.raises(AmbiguousCreate) as info:
                await hs.tickets.create({"subject": "s"})
            assert info.value.body == {"subject": "s"}
        posts = sum(len(calls) for (method, _), calls in m.requests.items() if method == "POST")
        assert posts == 1


@pytest.mark.parametrize("form", [
    SECRET, SECRET.upper(), SECRET.swapcase(),
    __import__("base64").b64encode(SECRET.encode()).decode(),
])
def test_redaction_finds_the_token_in_any_case_and_form(form):
    from helpspace_async.errors import redact

    text = f"the server said: {form} and {{'Authorization': 'Bearer {form}'}}"
    cleaned = redact({"k": [text]}, (SECRET,))
    flat = str(cleaned)
    assert "***" in flat and form not in flat and SECRET.lower() not in flat.lower()


def test_redaction_covers_a_url_encoded_secret_with_reserved_characters():
    from urllib.parse import quote

    from helpspace_async.errors import redact

    secret = "abc/def+ghi=="
    assert redact(f"https://x/?t={quote(secret, safe='')}", (secret,)) == "https://x/?t=***"
