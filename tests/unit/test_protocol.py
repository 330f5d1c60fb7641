"""The pure protocol functions, fed real-shaped samples."""

from __future__ import annotations

import json
from datetime import date
from email.utils import formatdate
from urllib.parse import parse_qsl

import pytest

from helpspace_async import protocol
from helpspace_async.errors import (
    AuthError,
    BadResponse,
    ConfigurationError,
    RateLimited,
    ServerError,
    ValidationError,
)
from tests.conftest import read_http_sample


def test_array_filters_repeat_the_key_with_brackets():
    query = protocol.encode_query({"status[]": ["open", "waiting"], "tags": ["a b", "ü"], "page": 2, "x": None})
    assert parse_qsl(query) == [("status[]", "open"), ("status[]", "waiting"), ("tags[]", "a b"), ("tags[]", "ü"), ("page", "2")]


def test_ticket_filters_use_the_apis_names():
    params = protocol.ticket_filter_params(
        status=["open", "escaleted"], subject_or_body="refund", created_between=(date(2024, 1, 1), "2024-02-01"), tags=[]
    )
    assert params == {"status": ["open", "escaleted"], "subject-or-body": ["refund"], "created-between": "2024-01-01/2024-02-01"}


@pytest.mark.parametrize(
    "kwargs, error",
    [({"status": ["escalated"]}, ValueError), ({"colour": "red"}, TypeError), ({"created_between": "2024-01-01"}, ValueError)],
)
def test_bad_filters_are_refused_before_sending(kwargs, error):
    with pytest.raises(error):
        protocol.ticket_filter_params(**kwargs)


def test_page_params_use_the_hyphen_and_the_limit():
    assert protocol.page_params(3, 50) == {"page": 3, "per-page": 50}
    with pytest.raises(ValueError):
        protocol.page_params(1, 51)
    with pytest.raises(ValueError):
        protocol.page_params(0, 10)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost/", "https://api.helpspace.com/", "http://[::1]:9"])
def test_safe_base_urls_are_accepted(url):
    assert not protocol.check_base_url(url).endswith("/")


@pytest.mark.parametrize("url", ["http://api.helpspace.com", "http://10.0.0.5", "ftp://x", "api.helpspace.com"])
def test_plain_http_to_a_remote_host_is_refused(url):
    with pytest.raises(ConfigurationError, match="http|look like"):
        protocol.check_base_url(url)


def test_headers_carry_both_credentials():
    headers = protocol.build_headers("t", "c", with_body=True)
    assert headers["Authorization"] == "Bearer t" and headers["Hs-Client-Id"] == "c"
    assert headers["Content-Type"].startswith("application/json")


def test_retry_after_as_seconds_or_http_date():
    now = 1_700_000_000.0
    assert protocol.parse_retry_after("17", now) == 17
    assert protocol.parse_retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert protocol.parse_retry_after("soon", now) is None
    assert protocol.parse_retry_after(None, now) is None


def test_rate_limit_headers_from_a_429_sample(samples):
    status, headers, body = read_http_sample(samples / "error_429.http")
    info = protocol.parse_rate_limit(headers, now=1764072000.0)
    assert (info.limit, info.remaining, info.reset_at, info.retry_after) == (60, 0, 1764072017.0, 17.0)
    err = protocol.error_for(status, headers, body, method="GET", path="/api/v1/tickets", now=1764072000.0)
    assert isinstance(err, RateLimited) and err.retry_after == 17.0


def test_page_envelope_sample(samples):
    items, meta = protocol.parse_page(json.loads((samples / "tickets_page.json").read_text()))
    assert len(items) == 3 and meta.current_page == 2 and meta.per_page == 3 and meta.last_page == 14
    assert items[0]["id"] > items[-1]["id"]  # newest first


def test_missing_or_broken_meta_is_none_not_a_crash():
    assert protocol.parse_page({"data": []})[1] is None
    assert protocol.parse_page({"data": [], "meta": {"last_page": "x"}})[1] is None
    with pytest.raises(BadResponse):
        protocol.parse_page({"message": "oops"})


def test_422_sample_becomes_field_errors(samples):
    raw = (samples / "error_422.json").read_bytes()
    err = protocol.error_for(422, {"X-Request-Id": "r-1"}, raw, method="POST", path="/api/v1/tickets", now=0)
    assert isinstance(err, ValidationError) and err.request_id == "r-1"
    assert err.field_errors["from_contact.email"] == ["The from_contact.email must be a valid email address."]
    assert "subject: The subject field is required." in str(err)


def test_401_tells_the_user_what_to_check(samples):
    err = protocol.error_for(401, {}, (samples / "error_401.json").read_bytes(), method="GET", path="/x", now=0)
    assert isinstance(err, AuthError) and "HELPSPACE_TOKEN" in str(err)


def test_an_html_error_page_is_a_server_error_not_a_crash():
    err = protocol.error_for(502, {}, b"<html><h1>Bad Gateway</h1></html>", method="GET", path="/x", now=0)
    assert isinstance(err, ServerError) and err.status == 502


def test_a_success_that_is_not_json_is_a_bad_response():
    with pytest.raises(BadResponse, match="not JSON"):
        protocol.decode_response(200, {}, b"<html>maintenance</html>", method="GET", path="/x", now=0)
