"""Time users can reason about: calendar weeks, a default until fixed within a day, a
diagnostic when the window misses every event, date-only strings in rows."""

from __future__ import annotations

import datetime as dt

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL, small_records

UTC = dt.timezone.utc


def test_weeks_are_iso_weeks_whatever_the_window_end(sample: dm.Dataset) -> None:
    thursday = "2026-10-29T03:02:46Z"  # the window starts on a Tuesday at 03:02:46
    a = dm.compute(sample, dm.Config(until=thursday))
    b = dm.compute(sample, dm.Config(until="2026-10-29T21:15:00Z"))
    weeks = [p.week_start for p in a.deployment_frequency.weekly]
    assert weeks == [p.week_start for p in b.deployment_frequency.weekly]
    assert all((w.weekday(), w.hour, w.minute, w.second) == (0, 0, 0, 0) for w in weeks)
    assert weeks[0] <= a.window.start < weeks[0] + dt.timedelta(days=7)
    assert weeks[-1] <= a.window.end < weeks[-1] + dt.timedelta(days=7)
    weekly = a.to_pandas("weekly")
    assert (weekly["week_start"].dt.day_of_week == 0).all()
    assert weekly["deployments"].sum() == a.deployment_frequency.count


def test_default_until_is_the_start_of_the_day(small: dm.Dataset) -> None:
    a = dm.compute(small)
    b = dm.compute(small)
    assert a.window.end == b.window.end and a == b
    end = a.window.end
    assert (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
    assert dt.datetime.now(UTC) - end < dt.timedelta(days=1)
    assert a.config is not None and a.config.until == end


def test_a_window_without_events_says_so(sample: dm.Dataset) -> None:
    report = dm.compute(sample, dm.Config(until="2030-01-01"))
    found = [d for d in report.diagnostics if d.code == "no_events_in_window"]
    assert found and found[0].severity == "warning" and "set until" in found[0].message
    assert "no_events_in_window" in repr(report)
    inside = dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL))
    assert all(d.code != "no_events_in_window" for d in inside.diagnostics)


def test_date_only_strings_in_rows(small: dm.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    records = small_records()
    records["commits"][0]["authored_at"] = "2026-03-01"
    records["deployments"][0]["finished_at"] = "2026-03-01"
    records["incidents"][0]["resolved_at"] = "2026-03-04"
    data = dm.Dataset(**records)
    assert data.records("commits")[0]["authored_at"] == "2026-03-01T00:00:00Z"
    assert data.records("deployments")[0]["finished_at"] == "2026-03-01T00:00:00Z"
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(records["commits"])  # strings, through the Arrow reader
    assert dm.Dataset(commits=frame).records("commits") == data.records("commits")
    with monkeypatch.context() as m:
        m.setenv("DORA_INGEST", "rows")
        assert dm.Dataset(commits=frame).records("commits") == data.records("commits")
    assert dm.compute(data, dm.Config(days=30, until=SMALL_UNTIL)).lead_time.count == 1


def test_an_unreadable_time_names_its_field() -> None:
    records = small_records()
    records["commits"][1]["authored_at"] = "March 3rd"
    with pytest.raises(dm.DatasetError, match=r"commits\[1\]: authored_at: "):
        dm.Dataset(**records)
    records = small_records()
    records["pull_requests"][0]["merged_at"] = "2026-03-0"
    with pytest.raises(dm.DatasetError, match=r"pull_requests\[0\]: merged_at: "):
        dm.Dataset(**records)
