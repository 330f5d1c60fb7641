"""The HelpSpace-compatible HTTP API (aiohttp.web) over a `Store`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import orjson
from aiohttp import web

from . import seed as seeding
from .hostile import Hostility
from .hostile import middleware as hostile_middleware
from .people import AVATAR_TYPES, CUSTOMER_FIELDS, ORGANIZATION_FIELDS, People
from .realism import Realism, drop_connection
from .store import Store, now_iso
from .validation import check_body, check_create, decode_attachments

STORE = web.AppKey("store", Store)
REALISM = web.AppKey("realism", Realism)
CREDENTIALS = web.AppKey("credentials", tuple)
PEOPLE = web.AppKey("people", People)
DEFAULT_TYPES = {"external", "widget", "forward"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _error(status: int, message: str, errors: dict[str, list[str]] | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    return _json(body, status)


@web.middleware
async def realism_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, then the rate limit, latency and faults, in the order a real stack applies them."""
    realism = request.app[REALISM]
    if request.path.startswith("/_helpspace/"):
        return await handler(request)
    realism.stats["requests"] += 1
    token, client_id = request.app[CREDENTIALS]
    auth = request.headers.get("Authorization", "")
    if auth != f"Bearer {token}" or request.headers.get("Hs-Client-Id") != client_id:
        return _error(401, "Unauthenticated.")
    headers, refused = realism.rate_check(token)
    await realism.delay()
    if refused is not None:
        return refused
    fault = realism.maybe_fault(request)
    response = fault or await handler(request)
    response.headers.update(headers)
    return response


def _page_args(request: web.Request) -> tuple[int, int] | web.Response:
    try:
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per-page", "15"))
    except ValueError:
        return _error(422, "The given data was invalid.", {"page": ["The page must be an integer."]})
    if not 1 <= per_page <= 50:
        return _error(422, "The given data was invalid.", {"per-page": ["The per-page must be between 1 and 50."]})
    if page < 1:
        return _error(422, "The given data was invalid.", {"page": ["The page must be at least 1."]})
    return page, per_page


def _envelope(request: web.Request, items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    """Laravel's paginator: links without the query string, meta with from/to/last_page."""
    last = max(1, -(-total // per_page))
    path = str(request.url.with_query(None))
    start = (page - 1) * per_page
    return {
        "data": items,
        "links": {
            "first": f"{path}?page=1",
            "last": f"{path}?page={last}",
            "prev": f"{path}?page={page - 1}" if page > 1 else None,
            "next": f"{path}?page={page + 1}" if page < last else None,
        },
        "meta": {
            "current_page": page, "from": start + 1 if items else None, "last_page": last,
            "path": path, "per_page": per_page, "to": start + len(items) if items else None, "total": total,
        },
    }


def _date_range(value: str) -> tuple[date, date]:
    start, _, end = value.partition("/")
    return date.fromisoformat(start), date.fromisoformat(end)


def _ticket_predicate(store: Store, query: Any) -> tuple[Any, Any] | web.Response:
    """Build (cache key, predicate) from the documented filters; None predicate = all."""
    tests = []
    key = []
    for name in ("status", "tags", "subject", "body", "subject-or-body", "contacts", "assignees", "teams"):
        values = query.getall(f"{name}[]", [])
        if values:
            key.append((name, tuple(values)))
            tests.append((name, [v.lower() for v in values]))
    ranges = []
    for name, field_name in (("created-between", "created_at"), ("last-contact-between", "last_contact")):
        if name in query:
            try:
                ranges.append((field_name, _date_range(query[name])))
            except ValueError:
                return _error(422, "The given data was invalid.", {name: [f"The {name} must look like YYYY-MM-DD/YYYY-MM-DD."]})
            key.append((name, query[name]))
    if not tests and not ranges:
        return "all", None

    def first_body(t: dict[str, Any]) -> str:
        msgs = store.messages_of(t["id"])
        return msgs[0]["body"].lower() if msgs else ""

    def matches(t: dict[str, Any]) -> bool:
        for name, values in tests:
            if name == "status" and t["status"] not in values:
                return False
            if name == "tags" and not {x.lower() for x in t["tags"]} & set(values):
                return False
            if name == "subject" and not any(v in t["subject"].lower() for v in values):
                return False
            if name == "body" and not any(v in first_body(t) for v in values):
                return False
            if name == "subject-or-body" and not any(v in t["subject"].lower() or v in first_body(t) for v in values):
                return False
            if name == "contacts" and not {str(t["from_contact"]["id"]), t["from_contact"]["value"].lower()} & set(values):
                return False
            if name == "assignees" and not (t["assignee"] and {str(t["assignee"]["id"]), t["assignee"]["email"]} & set(values)):
                return False
            if name == "teams" and not (t["team"] and {str(t["team"]["id"]), t["team"]["name"].lower()} & set(values)):
                return False
        for field_name, (start, end) in ranges:
            stamp = t[field_name]
            if not stamp or not start <= date.fromisoformat(stamp[:10]) <= end:
                return False
        return True

    return tuple(key), matches


async def list_tickets(request: web.Request) -> web.Response:
    store, realism = request.app[STORE], request.app[REALISM]
    args = _page_args(request)
    if isinstance(args, web.Response):
        return args
    page, per_page = args
    if realism.churn:
        store.churn(realism.rng, realism.churn, past=realism.churn_past)
    built = _ticket_predicate(store, request.query)
    if isinstance(built, web.Response):
        return built
    ids = store.listing(*built, order=realism.order)
    start = (page - 1) * per_page
    page_ids = ids[start : start + per_page]
    envelope = _envelope(request, page_ids, len(ids), page, per_page)
    del envelope["data"]
    rest = orjson.dumps(envelope)
    body = b'{"data":[' + b",".join(store.ticket_json(tid) for tid in page_ids) + b"]," + rest[1:]
    return web.Response(body=body, content_type="application/json")


def _live_ticket(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        ticket = request.app[STORE].get(int(request.match_info["id"]))
    except ValueError:
        ticket = None
    if ticket is None or ticket["deleted_at"] is not None:
        return _error(404, "No query results for model [App\\Models\\Ticket].")
    return ticket


async def get_ticket(request: web.Request) -> web.Response:
    ticket = _live_ticket(request)
    return ticket if isinstance(ticket, web.Response) else _json({"data": ticket})


async def _read_json(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return None


def _stored_attachments(store: Store, decoded: list[tuple[str, str, bytes]]) -> list[dict[str, Any]]:
    return [store.add_attachment(name, mime, data) for name, mime, data in decoded]


def _known_tags(store: Store, tags: list[str] | None) -> list[str]:
    """Only tags that already exist are applied (documented); the rest are dropped silently."""
    return sorted({t for t in tags or [] if t in store.tags and store.tags[t]["type"] in ("all", "ticket")})


async def create_ticket(request: web.Request) -> web.Response:
    store, realism = request.app[STORE], request.app[REALISM]
    data = await _read_json(request)
    errors, attachments = check_create(data)
    if errors:
        return _error(422, "The given data was invalid.", errors)
    contact = data["from_contact"]
    created = data.get("created_at")
    stamp = seeding.iso(datetime.fromisoformat(created.replace("Z", "+00:00"))) if created else now_iso()
    agent = next((dict(a) for a in seeding.AGENTS if data.get("assignee") and a["id"] == data["assignee"]["id"]), None)
    team_name = (data.get("team") or {}).get("name")
    team = next((dict(t) for t in seeding.TEAMS if t["name"] == team_name), {"id": 100, "name": team_name} if team_name else None)
    ticket = {
        "subject": data["subject"],
        "channel": dict(seeding.CHANNELS[data["channel"]["id"]]),
        "from_contact": {
            "id": store.contact_id(contact["email"]), "user_id": None,
            "name": contact.get("name"), "value": contact["email"], "type": "email",
        },
        "status": data.get("status") or "open",
        "assignee": agent, "team": team, "creator": None,
        "tags": _known_tags(store, data.get("tags")),
        "last_contact": stamp, "created_at": stamp, "updated_at": now_iso(), "deleted_at": None,
    }
    message = {
        "type": "external", "body": data["message"]["body"], "from_contact": dict(ticket["from_contact"]),
        "created_at": stamp, "attachments": _stored_attachments(store, attachments),
    }
    store.insert_ticket(ticket, message)
    request.app[PEOPLE].ensure_customer(contact["email"], contact.get("name"))
    if realism.should_drop_after_create():
        drop_connection(request)
    return _json({"data": ticket}, 201)


async def update_ticket(request: web.Request) -> web.Response:
    store = request.app[STORE]
    ticket = _live_ticket(request)
    if isinstance(ticket, web.Response):
        return ticket
    data = await _read_json(request)
    if not isinstance(data, dict):
        return _error(422, "The given data was invalid.", {"body": ["The request body must be a JSON object."]})
    if "status" in data and data["status"] not in seeding.STATUSES:
        return _error(422, "The given data was invalid.", {"status": ["The selected status is invalid."]})
    for name in ("subject", "status"):
        if name in data:
            ticket[name] = data[name]
    if "tags" in data:
        ticket["tags"] = _known_tags(store, data["tags"])  # replaces the whole list
    store.update_ticket(ticket)
    return _json({"data": ticket})


async def delete_ticket(request: web.Request) -> web.Response:
    ticket = _live_ticket(request)
    if isinstance(ticket, web.Response):
        return ticket
    request.app[STORE].delete_ticket(ticket["id"])
    return _json({"data": ticket})


def _absolute(request: web.Request, message: dict[str, Any]) -> dict[str, Any]:
    origin = str(request.url.origin())
    atts = [{**a, "url": origin + a["url"]} for a in message["attachments"]]
    return {**message, "attachments": atts}


async def list_messages(request: web.Request) -> web.Response:
    ticket = _live_ticket(request)
    if isinstance(ticket, web.Response):
        return ticket
    args = _page_args(request)
    if isinstance(args, web.Response):
        return args
    page, per_page = args
    types = DEFAULT_TYPES | set(request.query.getall("additional-types[]", []))
    msgs = [m for m in request.app[STORE].messages_of(ticket["id"]) if m["type"] in types]
    start = (page - 1) * per_page
    items = [_absolute(request, m) for m in msgs[start : start + per_page]]
    return _json(_envelope(request, items, len(msgs), page, per_page))


async def create_message(request: web.Request) -> web.Response:
    store = request.app[STORE]
    ticket = _live_ticket(request)
    if isinstance(ticket, web.Response):
        return ticket
    data = await _read_json(request)
    errors: dict[str, list[str]] = {}
    check_body(data, "body", errors)
    attachments = decode_attachments((data or {}).get("attachments") if isinstance(data, dict) else None, "attachments", errors)
    if errors:
        return _error(422, "The given data was invalid.", errors)
    created = data.get("created_at")
    message = {
        "type": data.get("type") or "external", "body": data["body"], "from_contact": None,
        "created_at": seeding.iso(datetime.fromisoformat(created.replace("Z", "+00:00"))) if created else now_iso(),
        "attachments": _stored_attachments(store, attachments),
    }
    store.add_message(ticket["id"], message)
    if request.app[REALISM].should_drop_after_create():
        drop_connection(request)
    return _json({"data": _absolute(request, message)}, 201)


async def get_attachment(request: web.Request) -> web.Response:
    try:
        found = request.app[STORE].attachment(int(request.match_info["id"]))
    except ValueError:
        found = None
    if found is None:
        return _error(404, "File not found.")
    name, mime, data = found
    return web.Response(body=data, content_type=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def list_tags(request: web.Request) -> web.Response:
    args = _page_args(request)
    if isinstance(args, web.Response):
        return args
    page, per_page = args
    tags = sorted(request.app[STORE].tags.values(), key=lambda t: t["id"])
    start = (page - 1) * per_page
    return _json(_envelope(request, tags[start : start + per_page], len(tags), page, per_page))


async def create_tag(request: web.Request) -> web.Response:
    store = request.app[STORE]
    data = await _read_json(request)
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.strip():
        return _error(422, "The given data was invalid.", {"name": ["The name field is required."]})
    if name in store.tags:
        return _error(422, "The given data was invalid.", {"name": ["The name has already been taken."]})
    color = data.get("color")
    return _json({"data": store.add_tag(name, data.get("type") or "ticket",
                                        color if isinstance(color, str) and color else "#888888")}, 201)


def _paged(request: web.Request, items: list[Any]) -> web.Response:
    args = _page_args(request)
    if isinstance(args, web.Response):
        return args
    page, per_page = args
    start = (page - 1) * per_page
    return _json(_envelope(request, items[start : start + per_page], len(items), page, per_page))


def _id(request: web.Request, table: dict[int, Any]) -> int | None:
    try:
        found = int(request.match_info["id"])
    except ValueError:
        return None
    return found if found in table else None


async def list_customers(request: web.Request) -> web.Response:
    people = request.app[PEOPLE]
    return _paged(request, [people.customers[k] for k in sorted(people.customers)])


async def create_customer(request: web.Request) -> web.Response:
    people, data = request.app[PEOPLE], await _read_json(request)
    errors = people.check_customer(data)
    if errors:
        return _error(422, "The given data was invalid.", errors)
    return _json({"data": people.create_customer(data)}, 201)


def _record_handlers(kind: str, model: str, fields: tuple[str, ...]) -> tuple[Handler, Handler]:
    """GET and PATCH of one customer or organization: the same rules for both kinds."""
    missing = f"No query results for model [App\\Models\\{model}]."

    def table(people: People) -> dict[int, dict[str, Any]]:
        return people.customers if kind == "customers" else people.organizations

    def shown(people: People, rid: int) -> dict[str, Any]:
        return people.customers[rid] if kind == "customers" else people.organization(rid)

    async def get(request: web.Request) -> web.StreamResponse:
        people = request.app[PEOPLE]
        rid = _id(request, table(people))
        return _error(404, missing) if rid is None else _json({"data": shown(people, rid)})

    async def update(request: web.Request) -> web.StreamResponse:
        people, data = request.app[PEOPLE], await _read_json(request)
        rid = _id(request, table(people))
        if rid is None:
            return _error(404, missing)
        check = people.check_customer if kind == "customers" else people.check_organization
        errors = check(data, existing=rid)
        if errors:
            return _error(422, "The given data was invalid.", errors)
        people.update(kind, rid, data, fields)
        return _json({"data": shown(people, rid)})

    return get, update


get_customer, update_customer = _record_handlers("customers", "Customer", CUSTOMER_FIELDS)
get_organization, update_organization = _record_handlers("organizations", "Organization", ORGANIZATION_FIELDS)


async def customer_avatar(request: web.Request) -> web.Response:
    people = request.app[PEOPLE]
    cid = _id(request, people.customers)
    if cid is None:
        return _error(404, "No query results for model [App\\Models\\Customer].")
    if request.method == "GET":
        return _json({"data": people.avatars.get(cid)})
    data = await _read_json(request)
    if not isinstance(data, dict) or data.get("mime_type") not in AVATAR_TYPES:
        return _error(422, "The given data was invalid.", {"mime_type": ["The selected mime type is invalid."]})
    if not isinstance(data.get("data"), str) or not data["data"] or len(data["data"]) > 50_000:
        return _error(422, "The given data was invalid.", {"data": ["The data may not be greater than 50000 characters."]})
    people.set_avatar(cid, data["mime_type"], data["data"])
    return _json({"data": people.avatars[cid]})


async def list_organizations(request: web.Request) -> web.Response:
    people = request.app[PEOPLE]
    return _paged(request, [people.organization(k) for k in sorted(people.organizations)])


async def create_organization(request: web.Request) -> web.Response:
    people, data = request.app[PEOPLE], await _read_json(request)
    errors = people.check_organization(data)
    if errors:
        return _error(422, "The given data was invalid.", errors)
    return _json({"data": people.create_organization(data)}, 201)


async def server_stats(request: web.Request) -> web.Response:
    """Not part of the HelpSpace API: what the embedded server counted (for benchmarks)."""
    realism = request.app[REALISM]
    return _json({**realism.stats, "windows": len(realism.windows), "window_efficiency": realism.window_efficiency()})


async def list_agents(request: web.Request) -> web.Response:
    return _json(_envelope(request, seeding.AGENTS, len(seeding.AGENTS), 1, 50))


async def list_teams(request: web.Request) -> web.Response:
    return _json(_envelope(request, seeding.TEAMS, len(seeding.TEAMS), 1, 50))


def build_app(store: Store, realism: Realism, *, token: str, client_id: str,
              hostile: Hostility | None = None, people: People | None = None) -> web.Application:
    """The aiohttp application; bodies up to 20 MB (5 MB body + 5 MB attachments in base64)."""
    middlewares = ([hostile_middleware(hostile)] if hostile else []) + [realism_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=20 * 1024 * 1024)
    app[STORE], app[REALISM], app[CREDENTIALS] = store, realism, (token, client_id)
    app[PEOPLE] = people or People(store, 1)
    r = app.router
    r.add_get("/api/v1/tickets", list_tickets)
    r.add_post("/api/v1/tickets", create_ticket)
    r.add_get("/api/v1/tickets/{id}", get_ticket)
    r.add_patch("/api/v1/tickets/{id}", update_ticket)
    r.add_delete("/api/v1/tickets/{id}", delete_ticket)
    r.add_get("/api/v1/tickets/{id}/messages", list_messages)
    r.add_post("/api/v1/tickets/{id}/messages", create_message)
    r.add_get("/api/v1/media/attachment/{id}", get_attachment)
    r.add_get("/api/v1/tags", list_tags)
    r.add_post("/api/v1/tags", create_tag)
    r.add_get("/api/v1/agents", list_agents)
    r.add_get("/api/v1/teams", list_teams)
    r.add_get("/api/v1/customers", list_customers)
    r.add_post("/api/v1/customers", create_customer)
    r.add_get("/api/v1/customers/{id}", get_customer)
    r.add_patch("/api/v1/customers/{id}", update_customer)
    r.add_get("/api/v1/customers/{id}/avatar", customer_avatar)
    r.add_patch("/api/v1/customers/{id}/avatar", customer_avatar)
    r.add_get("/api/v1/organizations", list_organizations)
    r.add_post("/api/v1/organizations", create_organization)
    r.add_get("/api/v1/organizations/{id}", get_organization)
    r.add_patch("/api/v1/organizations/{id}", update_organization)
    r.add_get("/_helpspace/stats", server_stats)
    return app


__all__ = ["build_app"]
