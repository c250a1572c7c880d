"""Slicing and merging datasets: filter, to_pandas, dimensions, de-duplicating merges."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL, small_records

UTC = dt.timezone.utc


def test_filter_by_repository(sample: dm.Dataset, sample_report: dm.Report) -> None:
    web = sample.filter(repositories=["web-app"])
    assert web.repositories == ["web-app"]
    assert sample.filter("web-app") == web
    assert all(r["repository"] == "web-app" for r in web.records("pull_requests"))
    assert web.counts()["pull_requests"] == sum(1 for r in sample.records("pull_requests")
                                                if r["repository"] == "web-app")
    # Incidents naming another repository only are left out; those naming none stay.
    for i in web.records("incidents"):
        assert not i["repositories"] or "web-app" in i["repositories"]
    alone = dm.compute(web, dm.Config(until=dm.SAMPLE_UNTIL))
    per_repo = sample_report.repositories["web-app"]
    assert alone.lead_time.count == per_repo.lead_time.count
    assert alone.lead_time.median_seconds == per_repo.lead_time.median_seconds
    assert alone.deployment_frequency.count == per_repo.deployment_frequency.count
    assert sample.filter() == sample
    assert sample.filter(repositories=[]).counts()["commits"] == 0


def test_filter_by_time(sample: dm.Dataset) -> None:
    since, until = dt.datetime(2026, 9, 1, tzinfo=UTC), "2026-10-01"
    part = sample.filter(since=since, until=until)
    end = dt.datetime(2026, 10, 1, tzinfo=UTC)

    def t(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert 0 < part.counts()["pull_requests"] < sample.counts()["pull_requests"]
    for c in part.records("commits"):
        assert since <= t(c["committed_at"]) < end
    for p in part.records("pull_requests"):
        assert since <= t(p["merged_at"] or p["created_at"]) < end
    for d in part.records("deployments"):
        assert since <= t(d["finished_at"] or d["started_at"]) < end
    for i in part.records("incidents"):
        assert since <= t(i["opened_at"]) < end
    assert part.merged(sample.filter(until=since)).merged(sample.filter(since=until)) == sample
    with pytest.raises(dm.ConfigError, match="since .* must be before until"):
        sample.filter(since="2026-10-01", until="2026-09-01")
    with pytest.raises(dm.ConfigError, match="since"):
        sample.filter(since="last week")


def test_dataset_to_pandas_round_trips(sample: dm.Dataset) -> None:
    pd = pytest.importorskip("pandas")
    frames = {table: sample.to_pandas(table) for table in sample.counts()}
    assert list(frames["deployments"].columns)[:3] == ["repository", "id", "environment"]
    assert str(frames["commits"]["authored_at"].dtype) == "datetime64[us, UTC]"
    assert "author_name" in frames["pull_requests"] and "author" not in frames["pull_requests"]
    assert len(frames["commits"]) == sample.counts()["commits"]
    assert pd.api.types.is_string_dtype(frames["deployments"]["status"])
    assert dm.Dataset(**frames) == sample
    with pytest.raises(dm.ConfigError, match="unknown table"):
        sample.to_pandas("builds")


def _with_teams() -> dm.Dataset:
    records = small_records()
    records["repositories"][0]["team"] = "payments"
    records["pull_requests"][0]["squad"] = "checkout"
    records["deployments"][1]["pipeline"] = "blue"
    records["incidents"][0]["on_call"] = "jane"
    return dm.Dataset(**records)


def test_extra_columns_are_kept_as_dimensions(small: dm.Dataset) -> None:
    data = _with_teams()
    assert data.dimensions == {
        "deployments": ["pipeline"], "incidents": ["on_call"], "pull_requests": ["squad"], "repositories": ["team"],
    }
    assert data != small  # the dimensions are part of its value
    again = pickle.loads(pickle.dumps(data))
    assert again == data and again.dimensions == data.dimensions
    pd = pytest.importorskip("pandas")
    assert data.to_pandas("repositories")["team"].tolist() == ["payments"]
    deployments = data.to_pandas("deployments").set_index("id")
    assert deployments.loc["d1", "pipeline"] == "blue" and pd.isna(deployments.loc["d0", "pipeline"])
    assert dm.Dataset(**{t: data.to_pandas(t) for t in data.counts()}) == data


def test_report_frames_carry_the_dimensions() -> None:
    pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    report = dm.compute(_with_teams(), dm.Config(days=30, until=SMALL_UNTIL))
    changes = report.to_pandas("changes")
    assert changes["team"].tolist() == ["payments"] and changes["squad"].tolist() == ["checkout"]
    deps = report.to_polars("deployments")
    assert deps.filter(pl.col("id") == "d1")["pipeline"].to_list() == ["blue"]
    assert deps["team"].unique().to_list() == ["payments"]
    incidents = report.to_arrow("incidents")
    assert incidents.column("on_call").to_pylist() == ["jane"]
    weekly = report.to_pandas("weekly", by="repository")
    assert set(weekly["team"]) == {"payments"}
    metrics = report.to_pandas("metrics")
    pd = pytest.importorskip("pandas")
    assert pd.isna(metrics["team"].iloc[0]) and metrics["team"].iloc[1] == "payments"  # the workspace has no team
    assert pickle.loads(pickle.dumps(report)).to_pandas("changes")["squad"].tolist() == ["checkout"]


def test_a_dimension_named_like_a_report_column_is_prefixed() -> None:
    pytest.importorskip("pandas")
    records = small_records()
    records["pull_requests"][0]["reviewed"] = "by the team lead"
    report = dm.compute(dm.Dataset(**records), dm.Config(days=30, until=SMALL_UNTIL))
    changes = report.to_pandas("changes")
    assert changes["reviewed"].tolist() == [True]
    assert changes["pull_requests_reviewed"].tolist() == ["by the team lead"]


def test_merged_keeps_each_event_once(small: dm.Dataset, sample: dm.Dataset) -> None:
    twice = small.merged(small)
    assert twice == small and twice.counts() == small.counts()
    config = dm.Config(days=30, until=SMALL_UNTIL)
    assert dm.compute(twice, config) == dm.compute(small, config)
    # Overlapping pieces of one workspace merge back into it.
    api = sample.filter(repositories=["payments-api"])
    assert api.merged(sample) == sample and sample.merged(api) == sample
    # The later copy of an event wins.
    records = small_records()
    records["deployments"][2]["status"] = "succeeded"
    fixed = small.merged(dm.Dataset(deployments=records["deployments"][2:3]))
    assert [d["status"] for d in fixed.records("deployments") if d["id"] == "d2"] == ["succeeded"]
    assert fixed.counts() == small.counts()
