"""`compare_round_trip`, which `helpspace demo` trusts to say "all equal": it must see differences."""

from __future__ import annotations

from helpspace_async.testing import HelpSpaceServer
from pipelines.export import Exporter, ExportOptions
from pipelines.import_.importer import Importer, ImportOptions
from pipelines.import_.records import exported_key
from pipelines.verify import compare_round_trip


async def test_a_round_trip_compares_equal_and_each_difference_is_named(tmp_path):
    backup = tmp_path / "t.jsonl"
    async with HelpSpaceServer(tickets=6, seed=4) as a, HelpSpaceServer(tickets=0) as b:
        async with a.client() as src, b.client() as dst:
            await Exporter(src, ExportOptions(output=str(backup), with_messages=True, attachments="embed", progress=False)).run()
            importer = Importer(dst, ImportOptions(input=str(backup), progress=False))
            await importer.run()
            assert importer.journal is not None
            mapping = {i: importer.journal.done[exported_key(i)] for i in range(1, 7)}
            assert await compare_round_trip(src, dst, mapping) == []
            await dst.tickets.update(mapping[2], {"tags": ["changed"]})
            await dst.tickets.update(mapping[3], {"status": "spam"})
            await dst.messages(mapping[4]).create({"body": "<p>an extra reply</p>"})
            problems = await compare_round_trip(src, dst, mapping)
    assert any(p.startswith("ticket 2: tags") for p in problems)
    assert any(p.startswith("ticket 3: status") for p in problems)
    assert any(p.startswith("ticket 4: message bodies differ") for p in problems)
    assert len(problems) == 3
