"""Other helpdesks' people and companies -> HelpSpace customers and organizations.

Zendesk users (end users: agents stay agents) and organizations, Freshdesk contacts and
companies, Help Scout customers. What HelpSpace has no field for is kept, not dropped:
phones, source tags, custom fields and a time zone that isn't an IANA name (Freshdesk and
Zendesk also give Rails names such as "Eastern Time (US & Canada)") become lines of the
customer's note; an organization's custom fields stay custom fields, its tags become
organization tags. Membership: HelpSpace joins customers to an organization by email
domain (`is_domain_assignable`), so a source company's first domain is its domain.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from ..errors import Skipped
from .common import as_dict, dig

NOTE_MAX = 1500  # the API's limit on a note
Adapter = Callable[[dict[str, Any]], dict[str, Any]]

# source -> kind -> the streams (or side-loaded arrays) that hold it
STREAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "zendesk": {"customers": ("users",), "organizations": ("organizations",)},
    "freshdesk": {"customers": ("contacts",), "organizations": ("companies",)},
    "helpscout": {"customers": ("customers",), "organizations": ()},
}


def note(*lines: tuple[str, Any]) -> str | None:
    """`Label: value` lines (empty ones left out), cut to the API's 1,500 characters."""
    text = "\n".join(f"{label}: {value}" if label else str(value) for label, value in lines
                     if value not in (None, "", [], {}))
    return (text[: NOTE_MAX - 1] + "…") if len(text) > NOTE_MAX else (text or None)


@cache
def iana_zones() -> frozenset[str]:
    """Read once, when first needed: listing the zone database takes a noticeable moment."""
    return frozenset(available_timezones())


def zone(value: Any) -> tuple[str | None, str | None]:
    """(IANA zone for the field, or None and the source's name for the note)."""
    if isinstance(value, str) and value in iana_zones():
        return value, None
    return None, value or None


def fields_text(fields: Any) -> str | None:
    if not isinstance(fields, dict):
        return None
    shown = [f"{k}={v}" for k, v in fields.items() if v not in (None, "", [], {})]
    return ", ".join(shown) or None


def zendesk_user(u: dict[str, Any]) -> dict[str, Any]:
    if u.get("role") not in (None, "end-user"):
        raise Skipped("an agent in the source, not a customer")
    tz, tz_note = zone(u.get("iana_time_zone") or u.get("time_zone"))
    return {"external_id": f"zendesk:{u.get('id')}", "name": u.get("name") or u.get("email"), "email": u.get("email"),
            "timezone": tz, "locale": u.get("locale"),
            "note": note(("", u.get("notes")), ("", u.get("details")), ("Phone", u.get("phone")),
                         ("Time zone", tz_note), ("Tags", ", ".join(u.get("tags") or [])),
                         ("Fields", fields_text(u.get("user_fields"))), ("Zendesk user", u.get("id")))}


def company(source: str, record: dict[str, Any], domains: list[str], notes: tuple[Any, ...], fields: Any,
            **more: Any) -> dict[str, Any]:
    """A source's organization or company: its first domain joins members by email (the rest
    go into the note), its custom fields stay custom fields."""
    return {"external_id": f"{source}:{record.get('id')}", "name": record.get("name"),
            "domain": domains[0] if domains else None, "is_domain_assignable": bool(domains),
            "note": note(*(("", n) for n in notes), ("Other domains", ", ".join(domains[1:]))),
            "custom_fields": {k: v for k, v in as_dict(fields).items() if v not in (None, "")}, **more}


def zendesk_organization(o: dict[str, Any]) -> dict[str, Any]:
    return company("zendesk", o, o.get("domain_names") or [], (o.get("notes"), o.get("details")),
                   o.get("organization_fields"), is_shared=bool(o.get("shared_tickets")), tags=list(o.get("tags") or []))


def freshdesk_contact(c: dict[str, Any]) -> dict[str, Any]:
    tz, tz_note = zone(c.get("time_zone"))
    return {"external_id": f"freshdesk:{c.get('id')}", "name": c.get("name") or c.get("email"), "email": c.get("email"),
            "job_title": c.get("job_title"), "address": c.get("address"), "timezone": tz, "locale": c.get("language"),
            "note": note(("", c.get("description")), ("Phone", c.get("phone")), ("Mobile", c.get("mobile")),
                         ("Time zone", tz_note), ("Tags", ", ".join(c.get("tags") or [])),
                         ("Fields", fields_text(c.get("custom_fields"))), ("Freshdesk contact", c.get("id")))}


def freshdesk_company(c: dict[str, Any]) -> dict[str, Any]:
    return company("freshdesk", c, c.get("domains") or [], (c.get("description"), c.get("note")), c.get("custom_fields"))


def helpscout_customer(c: dict[str, Any]) -> dict[str, Any]:
    def get(camel: str) -> Any:
        snake = "".join(f"_{x.lower()}" if x.isupper() else x for x in camel)
        return c.get(camel, c.get(snake))

    emails = dig(c, "_embedded.emails") or c.get("emails") or []
    email = next((e.get("value") for e in emails if isinstance(e, dict) and e.get("value")), None) or c.get("email")
    phones = [p.get("value") for p in dig(c, "_embedded.phones") or c.get("phones") or [] if isinstance(p, dict)]
    first = get("firstName") or get("first")
    last = get("lastName") or get("last")
    name = " ".join(x for x in (first, last) if x) or email
    return {"external_id": f"helpscout:{c.get('id')}", "name": name, "email": email, "job_title": get("jobTitle"),
            "note": note(("", get("background")), ("Organization", c.get("organization")),
                         ("Location", c.get("location")), ("Phone", ", ".join(p for p in phones if p)),
                         ("Help Scout customer", c.get("id")))}


ADAPTERS: dict[str, dict[str, Adapter]] = {
    "zendesk": {"customers": zendesk_user, "organizations": zendesk_organization},
    "freshdesk": {"customers": freshdesk_contact, "organizations": freshdesk_company},
    "helpscout": {"customers": helpscout_customer},
}


def detect(streams: set[str], first: dict[str, Any] | None) -> str:
    """The source of a people input, from its streams' names or its first record's shape."""
    if "customers" in streams:
        return "helpscout"
    if {"contacts", "companies"} & streams:
        return "freshdesk"
    if {"users", "organizations"} & streams:
        return "zendesk"
    keys = set(first or {})
    if "id_link" in keys:
        return "helpspace"  # our own export
    if {"iana_time_zone", "organization_id", "role", "domain_names", "shared_tickets"} & keys:
        return "zendesk"
    if {"company_id", "view_all_tickets", "mobile", "domains"} & keys:
        return "freshdesk"
    if {"firstName", "first_name", "_embedded", "background"} & keys:
        return "helpscout"
    return "helpspace"
