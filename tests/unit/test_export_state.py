"""The export's plan and state: segments, which pass comes next, checkpoints to and from JSON."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.errors import ExportConfigError
from pipelines.export.plan import Segment, ignores_date_filter, next_pass, plan_segments
from pipelines.export.state import Checkpoint, Position, load_checkpoint


def test_segments_split_at_two_days_with_a_day_of_overlap():
    stable, recent = plan_segments(None, date(2026, 11, 25))
    assert stable == Segment("stable", "1970-01-01/2026-11-23")
    assert recent == Segment("recent", "2026-11-22/9999-12-31")
    assert plan_segments("2020-01-01/2020-12-31", date(2026, 11, 25)) == [Segment("stable", "2020-01-01/2020-12-31")]


def test_which_pass_comes_next():
    stable, recent, whole = Segment("stable", None), Segment("recent", None), Segment("whole", None)
    assert next_pass(stable, 0, False, changed=False) is None
    assert next_pass(stable, 0, False, changed=True) is True  # then down once
    assert next_pass(stable, 1, True, changed=True) is None
    assert next_pass(recent, 0, False, changed=True) is False and next_pass(recent, 3, False, changed=True) is None
    assert next_pass(whole, 0, False, changed=True) is True and next_pass(whole, 1, True, changed=True) is False


def test_a_server_that_ignores_the_date_filter_is_noticed():
    two = [Segment("stable", "a"), Segment("recent", "b")]
    assert ignores_date_filter(two, total=100, in_recent=95)
    assert not ignores_date_filter(two, total=100, in_recent=10)
    assert not ignores_date_filter(two, total=10, in_recent=10)  # too small to tell


def test_totals_seen_in_a_pass_tell_whether_the_listing_moved():
    pos = Position()
    pos.note_total(100)
    pos.note_total(100)
    assert not pos.total_moved
    pos.note_total(99)
    assert pos.totals == [99, 100] and pos.total_moved


def test_a_checkpoint_survives_the_round_trip_and_comes_back_resumed(tmp_path):
    saved = Checkpoint({"format": "jsonl"}, 1234, 40, Position(segment=1, pass_no=2, page=7, descending=True, totals=[5, 6]),
                       [Segment("stable", "a"), Segment("recent", "b", "c")], "2026-11-25T00:00:00+00:00")
    path = tmp_path / "x.checkpoint.json"
    saved.save(path)
    back = load_checkpoint(path, {"format": "jsonl"})
    assert back is not None and back.offset == 1234 and back.segments == saved.segments
    assert back.position == Position(segment=1, pass_no=2, page=7, descending=True, totals=[5, 6], resumed=True)
    assert load_checkpoint(tmp_path / "none.json", {}) is None


def test_a_checkpoint_of_other_options_is_refused_naming_them(tmp_path):
    path = tmp_path / "x.checkpoint.json"
    Checkpoint({"format": "jsonl", "status": ["open"]}, 0, 0, Position(), [], "t").save(path)
    with pytest.raises(ExportConfigError, match="status differ"):
        load_checkpoint(path, {"format": "jsonl", "status": ["closed"]})
