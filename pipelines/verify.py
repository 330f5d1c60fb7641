"""Compare a source helpdesk with the one an import filled: what a round trip must keep."""

from __future__ import annotations

from helpspace_async import HelpSpaceClient
from helpspace_async.resources.messages import ALL_ADDITIONAL_TYPES

from .import_.records import PUBLIC_TYPES


async def compare_round_trip(source: HelpSpaceClient, target: HelpSpaceClient, mapping: dict[int, int]) -> list[str]:
    """Differences between each source ticket and its imported copy (`mapping`: source id -> new id).

    Compared: subject, sender, status, tags, created_at, message bodies (public ones, in
    order) and attachment bytes.
    """
    problems: list[str] = []
    for old_id, new_id in sorted(mapping.items()):
        old, new = await source.tickets.get(old_id), await target.tickets.get(new_id)
        for name, a, b in (
            ("subject", old["subject"], new["subject"]),
            ("sender", old["from_contact"]["value"], new["from_contact"]["value"]),
            ("status", old["status"], new["status"]),
            ("tags", sorted(old["tags"]), sorted(new["tags"])),
            ("created_at", old["created_at"], new["created_at"]),
        ):
            if a != b:
                problems.append(f"ticket {old_id}: {name} {a!r} became {b!r}")
        old_msgs = [m async for m in source.messages(old_id).iter(additional_types=ALL_ADDITIONAL_TYPES)]
        old_msgs = old_msgs[:1] + [m for m in old_msgs[1:] if m["type"] in PUBLIC_TYPES]
        new_msgs = [m async for m in target.messages(new_id).iter(additional_types=ALL_ADDITIONAL_TYPES)]
        if [m["body"] for m in old_msgs] != [m["body"] for m in new_msgs]:
            problems.append(f"ticket {old_id}: message bodies differ")
            continue
        for a, b in zip(old_msgs, new_msgs, strict=True):
            if [x["name"] for x in a["attachments"]] != [x["name"] for x in b["attachments"]]:
                problems.append(f"ticket {old_id}: attachment names differ")
                continue
            for x, y in zip(a["attachments"], b["attachments"], strict=True):
                if await source.media.download(x["url"]) != await target.media.download(y["url"]):
                    problems.append(f"ticket {old_id}: bytes of {x['name']!r} differ")
    return problems
