"""Customers and organizations of the embedded server, with the documented validations
(documentation.helpspace.com: api-customers, api-organizations): unique email, unique
organization name and domain, postal code <= 14, note <= 1,500, PHP time zones,
avatars of at most 50,000 base64 characters, organization tags as ids on write and objects
on read. Seeded from the tickets' contacts, so a seeded helpdesk has a customer behind
every ticket; kept in the store's SQLite file too when the server runs with `--db`."""

from __future__ import annotations

import random
from typing import Any
from zoneinfo import available_timezones

import orjson

from .store import Store, now_iso

CUSTOMER_FIELDS = ("name", "email", "job_title", "address", "city", "state", "postal_code", "timezone", "country",
                   "note", "locale")
ORGANIZATION_FIELDS = ("name", "domain", "note", "custom_fields", "timezone", "locale", "is_shared",
                       "is_domain_assignable")
AVATAR_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp")
ORGANIZATION_TAGS = ("enterprise", "partner")  # seeded, of type "organization"
ORGANIZATION_TAG_TYPES = ("organization", "all")
ZONES = frozenset(available_timezones())


class People:
    """Customers (one per contact email) and organizations."""

    def __init__(self, store: Store, seed: int) -> None:
        self.store = store
        self.customers: dict[int, dict[str, Any]] = {}
        self.avatars: dict[int, dict[str, str]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}
        if store.db is not None:
            store.db.execute("CREATE TABLE IF NOT EXISTS people (kind TEXT, id INTEGER, json BLOB, PRIMARY KEY (kind, id))")
            if self._load():
                return
        self._seed(seed)
        for cid in self.customers:
            self._persist("customers", cid)
        for oid in self.organizations:
            self._persist("organizations", oid)

    def _seed(self, seed: int) -> None:
        rng = random.Random(seed * 31)
        for ticket in sorted(self.store.tickets.values(), key=lambda t: t["id"]):
            contact = ticket["from_contact"]
            if contact["id"] not in self.customers:
                self.customers[contact["id"]] = self._seeded(contact, ticket["created_at"], rng)
        domains = sorted({c["email"].split("@")[-1] for c in self.customers.values()})[:5]
        tag_ids = [(self.store.tags.get(name) or self.store.add_tag(name, "organization"))["id"] for name in ORGANIZATION_TAGS] \
            if domains else []
        for number, domain in enumerate(domains, start=1):
            self.organizations[number] = {"id": number, "name": f"Org {domain.split('.')[0].title()}", "domain": domain,
                                          "note": None, "custom_fields": {"tier": rng.choice(["gold", "silver"])},
                                          "timezone": "Europe/Berlin", "locale": "de-DE", "is_shared": False,
                                          "is_domain_assignable": number % 2 == 1, "tags": tag_ids[: number % 3],
                                          "avatar": None, "created_at": now_iso(), "updated_at": now_iso()}

    def _load(self) -> bool:
        """People from the store's SQLite file; False when it has none yet (seed them then)."""
        assert self.store.db is not None
        rows = self.store.db.execute("SELECT kind, id, json FROM people").fetchall()
        tables = {"customers": self.customers, "organizations": self.organizations, "avatars": self.avatars}
        for kind, rid, blob in rows:
            tables[kind][rid] = orjson.loads(blob)
        return bool(rows)

    def _persist(self, kind: str, rid: int) -> None:
        if self.store.db is not None:
            table = {"customers": self.customers, "organizations": self.organizations, "avatars": self.avatars}[kind]
            self.store.db.execute("INSERT OR REPLACE INTO people VALUES (?, ?, ?)", (kind, rid, orjson.dumps(table[rid])))
            self.store.db.commit()

    @staticmethod
    def _seeded(contact: dict[str, Any], created_at: str, rng: random.Random) -> dict[str, Any]:
        return {"id": contact["id"], "id_link": f"/api/v1/customer/{contact['id']}", "name": contact["name"] or contact["value"],
                "email": contact["value"], "job_title": rng.choice([None, "Buyer", "CTO", "Einkäufer"]),
                "address": None, "city": rng.choice([None, "Boston", "Köln", "Zürich"]), "state": None,
                "postal_code": rng.choice([None, "02135", "50667"]), "timezone": rng.choice([None, "America/New_York",
                                                                                           "Europe/Berlin"]),
                "country": None, "note": None, "locale": rng.choice([None, "en-US", "de-DE"]),
                "created_at": created_at, "updated_at": created_at}

    def ensure_customer(self, email: str, name: str | None) -> None:
        """A ticket from a new email creates its customer (as HelpSpace does)."""
        cid = self.store.contact_id(email)
        if cid not in self.customers:
            self.customers[cid] = {"id": cid, "id_link": f"/api/v1/customer/{cid}", "name": name or email, "email": email,
                                   **{k: None for k in CUSTOMER_FIELDS if k not in ("name", "email")},
                                   "created_at": now_iso(), "updated_at": now_iso()}
            self._persist("customers", cid)

    def check_customer(self, data: Any, *, existing: int | None = None) -> dict[str, list[str]]:
        """422 field errors of a customer create (or, with `existing`, update)."""
        errors: dict[str, list[str]] = {}
        if not isinstance(data, dict):
            return {"body": ["The request body must be a JSON object."]}
        for name in ("name", "email"):
            if existing is None and not (isinstance(data.get(name), str) and data[name].strip()):
                errors[name] = [f"The {name} field is required."]
        email = data.get("email")
        if isinstance(email, str) and email:
            if "@" not in email or "." not in email.split("@")[-1]:
                errors["email"] = ["The email must be a valid email address."]
            elif any(c["email"].lower() == email.lower() and c["id"] != existing for c in self.customers.values()):
                errors["email"] = ["The email has already been taken."]
        if len(str(data.get("postal_code") or "")) > 14:
            errors["postal_code"] = ["The postal code may not be greater than 14 characters."]
        if len(str(data.get("note") or "")) > 1500:
            errors["note"] = ["The note may not be greater than 1500 characters."]
        if data.get("timezone") and data["timezone"] not in ZONES:
            errors["timezone"] = ["The timezone must be a valid zone."]
        return errors

    def check_organization(self, data: Any, *, existing: int | None = None) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if not isinstance(data, dict):
            return {"body": ["The request body must be a JSON object."]}
        name, domain = data.get("name"), data.get("domain")
        if existing is None and not (isinstance(name, str) and name.strip()):
            errors["name"] = ["The name field is required."]
        for field, value in (("name", name), ("domain", domain)):
            if value and any(str(o.get(field) or "").lower() == str(value).lower() and o["id"] != existing
                             for o in self.organizations.values()):
                errors[field] = [f"The {field} has already been taken."]
        if len(str(data.get("note") or "")) > 1500:
            errors["note"] = ["The note may not be greater than 1500 characters."]
        if "tags" in data:
            known = {t["id"] for t in self.store.tags.values() if t["type"] in ORGANIZATION_TAG_TYPES}
            tags = data["tags"]
            if not isinstance(tags, list):
                errors["tags"] = ["The tags must be an array."]
            for i, tag in enumerate(tags if isinstance(tags, list) else []):
                if not isinstance(tag, int) or isinstance(tag, bool) or tag not in known:
                    errors[f"tags.{i}"] = [f"The selected tags.{i} is invalid."]
        return errors

    def create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        cid = self.store.contact_id(data["email"])
        stamp = data.get("created_at") or now_iso()
        self.customers[cid] = {"id": cid, "id_link": f"/api/v1/customer/{cid}",
                               **{k: data.get(k) for k in CUSTOMER_FIELDS}, "created_at": stamp, "updated_at": now_iso()}
        self._persist("customers", cid)
        return self.customers[cid]

    def create_organization(self, data: dict[str, Any]) -> dict[str, Any]:
        oid = max(self.organizations, default=0) + 1
        self.organizations[oid] = {"id": oid, **{k: data.get(k) for k in ORGANIZATION_FIELDS},
                                   "tags": list(data.get("tags") or []), "avatar": None, "created_at": now_iso(),
                                   "updated_at": now_iso()}
        self._persist("organizations", oid)
        return self.organization(oid)

    def update(self, kind: str, rid: int, data: dict[str, Any], fields: tuple[str, ...]) -> None:
        table = self.customers if kind == "customers" else self.organizations
        table[rid].update({k: data[k] for k in fields + (("tags",) if kind == "organizations" else ()) if k in data})
        table[rid]["updated_at"] = now_iso()
        self._persist(kind, rid)

    def set_avatar(self, cid: int, mime_type: str, data: str) -> None:
        self.avatars[cid] = {"mime_type": mime_type, "data": data}
        self._persist("avatars", cid)

    def organization(self, oid: int) -> dict[str, Any]:
        """As read: with its members (customers whose email domain matches, when domain-assignable)."""
        org = dict(self.organizations[oid])
        members = [c for c in self.customers.values() if org.get("is_domain_assignable") and org.get("domain")
                   and c["email"].lower().endswith("@" + str(org["domain"]).lower())]
        org["users"] = [{"id": c["id"], "name": c["name"], "email": c["email"]} for c in members[:50]]
        by_id = {t["id"]: t for t in self.store.tags.values()}
        org["tags"] = [by_id[t] for t in org.get("tags") or [] if t in by_id]  # ids on write, objects on read
        return org
