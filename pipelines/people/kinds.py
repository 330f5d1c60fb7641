"""What differs between customers and organizations, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpspace_async import HelpSpaceClient


@dataclass(frozen=True)
class Kind:
    name: str  # "customers" or "organizations"
    key: str  # the field that identifies a record in any helpdesk (unique in HelpSpace)
    fields: tuple[str, ...]  # what a create or an update carries

    def resource(self, client: HelpSpaceClient) -> Any:
        return client.customers if self.name == "customers" else client.organizations

    def identity(self, record: dict[str, Any]) -> str | None:
        """The journal key: `customers:ann@example.com`, `organizations:acme`; None when absent."""
        value = record.get(self.key)
        return f"{self.name}:{str(value).strip().lower()}" if isinstance(value, str) and value.strip() else None

    def body(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: record[k] for k in self.fields if record.get(k) is not None}


CUSTOMERS = Kind("customers", "email", ("name", "email", "job_title", "address", "city", "state", "postal_code",
                                        "timezone", "country", "note", "locale", "created_at"))
ORGANIZATIONS = Kind("organizations", "name", ("name", "domain", "note", "custom_fields", "timezone", "locale",
                                               "is_shared", "is_domain_assignable"))
KINDS = {k.name: k for k in (CUSTOMERS, ORGANIZATIONS)}
