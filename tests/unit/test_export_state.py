"""The export's plan and state: segments, which pass comes next, checkpoints to and from JSON."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.errors import ExportConfigError
from pipelines.export.evidence import Evidence, listing_order
from pipelines.export.plan import (
    Segment,
    ignores_date_filter,
    plan_segments,
    plan_windows,
    split_window,
)
from pipelines.export.state import Checkpoint, Position, load_checkpoint
from pipelines.resume import prefix_digest, run_identity


def test_segments_split_at_two_days_with_a_day_of_overlap():
    stable, recent = plan_segments(None, date(2026, 11, 25))
    assert stable == Segment("stable", "1970-01-01/2026-11-23")
    assert recent == Segment("recent", "2026-11-22/9999-12-31")
    assert plan_segments("2020-01-01/2020-12-31", date(2026, 11, 25)) == [Segment("stable", "2020-01-01/2020-12-31")]


def test_windows_cover_the_range_and_hold_at_most_the_target():
    days = {date(2020, 1, 1): 10, date(2020, 1, 2): 30, date(2020, 1, 5): 60, date(2020, 1, 9): 5}
    windows = plan_windows(days, date(1970, 1, 1), date(2020, 12, 31), target=40)
    assert windows == [(date(1970, 1, 1), date(2020, 1, 4)), (date(2020, 1, 5), date(2020, 1, 8)),
                       (date(2020, 1, 9), date(2020, 12, 31))]  # contiguous; the 60-ticket day alone
    assert plan_windows({}, date(2020, 1, 1), date(2020, 1, 31), target=40) == [(date(2020, 1, 1), date(2020, 1, 31))]
    assert split_window((date(2020, 1, 1), date(2020, 1, 4))) == [(date(2020, 1, 1), date(2020, 1, 2)),
                                                                 (date(2020, 1, 3), date(2020, 1, 4))]


def test_evidence_of_change():
    quiet = Evidence(since=1e12)
    quiet.page([{"id": 1, "updated_at": "2020-01-01T00:00:00+00:00"}], 10, seen=set())
    quiet.page([{"id": 2, "updated_at": "2020-01-01T00:00:00+00:00"}], 10, seen={1})
    assert not quiet.found and quiet.reason() == "none"
    moved = Evidence(since=1e12)
    moved.page([], 10, set())
    moved.page([], 9, set())
    assert moved.found and "total moved (9..10)" in moved.reason()
    twice = Evidence(since=1e12)
    twice.page([{"id": 1, "updated_at": "2020-01-01T00:00:00Z"}], 5, seen={1})
    assert twice.found and twice.duplicates == 1
    fresh = Evidence(since=1_600_000_000)  # 2020-09-13
    fresh.page([{"id": 3, "updated_at": "2021-01-01T00:00:00Z"}, {"id": 4}], 5, set())
    assert fresh.changed == 2  # one edited since, one without a readable updated_at
    assert Evidence.from_json(fresh.to_json()) == fresh


def test_the_listing_order_is_read_from_the_data():
    def t(i, day):
        return {"id": i, "created_at": f"2020-01-{day:02d}T00:00:00Z"}

    assert listing_order([t(3, 1), t(2, 2), t(1, 3)]) == "id desc"
    assert listing_order([t(1, 3), t(3, 2), t(2, 1)]) == "created_at desc"
    assert listing_order([t(1, 1), t(2, 2)]) == "id asc (created_at agrees)"
    assert listing_order([t(2, 1), t(9, 3), t(1, 2)]) == "unknown"


def test_a_server_that_ignores_the_date_filter_is_noticed():
    two = [Segment("stable", "a"), Segment("recent", "b")]
    assert ignores_date_filter(two, total=100, in_recent=95)
    assert not ignores_date_filter(two, total=100, in_recent=10)
    assert not ignores_date_filter(two, total=10, in_recent=10)  # too small to tell


def test_a_checkpoint_survives_the_round_trip_and_comes_back_resumed(tmp_path):
    saved = Checkpoint({"format": "jsonl"}, 1234, 40, Position(segment=1, stage="verify", page=7, last_ids=[9, 8],
                                                               windows=[["2020-01-01", "2020-01-31"]]),
                       [Segment("stable", "a"), Segment("recent", "b", "c")], "2026-11-25T00:00:00+00:00")
    path = tmp_path / "x.checkpoint.json"
    part = tmp_path / "x.part"
    part.write_bytes(b"x" * 1234)
    saved.identity, saved.tail = IDENTITY, prefix_digest(part, 1234)
    saved.save(path)
    back = load_checkpoint(path, {"format": "jsonl"}, IDENTITY, part)
    assert back is not None and back.offset == 1234 and back.segments == saved.segments
    assert back.position == Position(segment=1, stage="verify", page=7, last_ids=[9, 8],
                                     windows=[["2020-01-01", "2020-01-31"]], resumed=True)
    assert load_checkpoint(tmp_path / "none.json", {}, IDENTITY, part) is None


def test_a_checkpoint_of_other_options_is_refused_naming_them(tmp_path):
    path = tmp_path / "x.checkpoint.json"
    Checkpoint({"format": "jsonl", "status": ["open"]}, 0, 0, Position(), [], "t", IDENTITY).save(path)
    with pytest.raises(ExportConfigError, match="status differ"):
        load_checkpoint(path, {"format": "jsonl", "status": ["closed"]}, IDENTITY, tmp_path / "x.part")


def test_a_checkpoint_of_another_account_is_refused_naming_the_difference(tmp_path):
    path = tmp_path / "x.checkpoint.json"
    Checkpoint({"format": "jsonl"}, 0, 0, Position(), [], "t", IDENTITY).save(path)
    other = run_identity("https://b.example", "client", "export tickets")
    with pytest.raises(ExportConfigError, match="origin 'https://a.example:443'"):
        load_checkpoint(path, {"format": "jsonl"}, other, tmp_path / "x.part")
    same_host_other_client = run_identity("https://a.example", "someone-else", "export tickets")
    with pytest.raises(ExportConfigError, match="client"):
        load_checkpoint(path, {"format": "jsonl"}, same_host_other_client, tmp_path / "x.part")


IDENTITY = run_identity("https://a.example", "client", "export tickets")
