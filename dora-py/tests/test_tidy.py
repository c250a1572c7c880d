"""Tidy frames: the long weekly table, the repository x metric frame, numeric summaries,
typed sections with an HTML repr, diagnostics that name their repository."""

from __future__ import annotations

import datetime as dt
import math

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL

WEEKLY_COLUMNS = [
    "week_start", "deployments", "lead_time_changes", "lead_time_median_seconds", "change_failure_deployments",
    "change_failure_rate", "recovered_failures", "recovery_median_seconds", "rework_rate",
]
UTC = dt.timezone.utc


def test_weekly_by_repository_is_long_and_tidy(sample_report: dm.Report) -> None:
    pd = pytest.importorskip("pandas")
    long = sample_report.to_pandas("weekly", by="repository")
    assert list(long.columns) == ["repository", *WEEKLY_COLUMNS]
    parts = [sample_report.to_pandas("weekly", repository=slug).assign(repository=slug)[list(long.columns)]
             for slug in sample_report.scope.repositories]
    pd.testing.assert_frame_equal(long, pd.concat(parts, ignore_index=True))
    assert long.groupby("repository")["deployments"].sum().to_dict() == {
        slug: m.deployment_frequency.count for slug, m in sample_report.repositories.items()
    }
    assert not long.duplicated(["repository", "week_start"]).any()


def test_weekly_by_repository_in_polars_and_arrow(sample_report: dm.Report) -> None:
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    long = sample_report.to_polars("weekly", by="repository")
    assert long.columns == ["repository", *WEEKLY_COLUMNS]
    assert long.schema["week_start"] == pl.Datetime("us", "UTC")
    arrow = sample_report.to_arrow("weekly", by="repository")
    assert arrow.num_rows == long.height == 2 * len(sample_report.to_polars("weekly"))


def test_by_is_checked(sample_report: dm.Report) -> None:
    with pytest.raises(dm.ConfigError, match='by="repository"'):
        sample_report.to_pandas("weekly", by="author")
    with pytest.raises(dm.ConfigError, match='by="repository"'):
        sample_report.to_pandas("changes", by="repository")
    with pytest.raises(dm.ConfigError, match="not both"):
        sample_report.to_pandas("weekly", repository="web-app", by="repository")


def test_metrics_frame_is_numeric_with_a_workspace_row(sample_report: dm.Report) -> None:
    pd = pytest.importorskip("pandas")
    m = sample_report.to_pandas("metrics")
    assert m["level"].tolist() == ["workspace", "repository", "repository"]
    assert pd.isna(m["repository"].iloc[0]) and m["repository"].iloc[1:].tolist() == ["payments-api", "web-app"]
    for col in m.columns:
        if col in ("repository", "level") or col.endswith("_tier"):
            continue
        assert pd.api.types.is_numeric_dtype(m[col]), col
    ws = m.iloc[0]
    r = sample_report
    assert ws["deployments"] == r.deployment_frequency.count
    assert ws["deployments_per_week"] == r.deployment_frequency.per_week
    assert ws["lead_time_median_seconds"] == r.lead_time.median_seconds
    assert ws["pickup_median_seconds"] == r.lead_time.phases.pickup.median_seconds
    assert ws["change_failure_rate"] == r.change_failure_rate.rate
    assert ws["deployment_recovery_median_seconds"] == r.recovery_time.deployments.median_seconds
    assert ws["rework_rate"] == r.rework_rate.rate and ws["overall_tier"] == r.overall_tier
    web = m.set_index("repository").loc["web-app"]
    assert web["lead_time_median_seconds"] == r.repositories["web-app"].lead_time.median_seconds
    assert math.isnan(web["deployment_recovery_median_seconds"])  # no failure there: null, not 0
    assert m["deployments"].iloc[1:].sum() == ws["deployments"]


def test_summary_is_numeric_and_the_text_has_a_name(sample_report: dm.Report) -> None:
    rows = sample_report.summary()
    assert [r.metric for r in rows] == [
        "Deployment frequency", "Lead time for changes", "Change failure rate", "Recovery time", "Rework rate",
    ]
    by = {r.metric: r for r in rows}
    assert by["Deployment frequency"].value == sample_report.deployment_frequency.per_week
    assert by["Lead time for changes"].value == sample_report.lead_time.median_seconds
    assert by["Lead time for changes"].unit == "seconds" and by["Change failure rate"].unit == "ratio"
    assert by["Change failure rate"].value == sample_report.change_failure_rate.rate
    assert by["Recovery time"].value == sample_report.recovery_time.deployments.median_seconds
    assert all(isinstance(r.value, float) for r in rows)
    text = sample_report.summary_text()
    assert [t[0] for t in text] == [r.metric for r in rows] and [t[2] for t in text] == [r.tier for r in rows]
    assert text[0][1] == f"{sample_report.deployment_frequency.per_week:.2f} / week (90 deploys)"
    assert text[2][1].endswith("%" + f" ({sample_report.change_failure_rate.failed}/91)")


def test_sections_hold_datetimes(sample_report: dm.Report) -> None:
    w = sample_report.window
    assert w.start == dt.datetime(2026, 8, 3, tzinfo=UTC) and w.end == dt.datetime(2026, 11, 1, tzinfo=UTC)
    assert w.end - w.start == dt.timedelta(days=w.days)
    week = sample_report.lead_time.weekly[0]
    assert isinstance(week.week_start, dt.datetime) and week.week_start.tzinfo is not None
    assert week["week_start"] == w.start
    # The JSON schema (to_dict, to_json) keeps RFC 3339 text.
    assert sample_report.lead_time.weekly[0].to_dict()["week_start"] == "2026-08-03T00:00:00Z"
    assert w.to_dict()["start"] == "2026-08-03T00:00:00Z"


def test_section_html_repr(sample_report: dm.Report) -> None:
    page = sample_report.lead_time._repr_html_()
    assert page.startswith("<table") and "median_seconds" in page and "phases" in page
    assert page.count("<table") > 2  # nested sections and the weekly points are tables too
    assert "2026-08-03T00:00:00+00:00" in page
    assert "<script" not in page


def test_diagnostics_show_their_repository(sample_report: dm.Report) -> None:
    diag = next(d for d in sample_report.diagnostics if d.code == "merge_fallback")
    assert diag.repository == "web-app"
    assert "merge_fallback [web-app]:" in repr(sample_report)
    assert "<code>merge_fallback</code> <i>web-app</i>" in sample_report._repr_html_()


def test_single_repository_report_has_its_entry(small: dm.Dataset) -> None:
    report = dm.compute(small, dm.Config(days=30, until=SMALL_UNTIL))
    assert list(report.repositories) == ["api"]
    assert report.repositories["api"].lead_time.median_seconds == report.lead_time.median_seconds
    pd = pytest.importorskip("pandas")
    m = report.to_pandas("metrics")
    assert m["repository"].tolist()[1:] == ["api"] and len(m) == 2
    long = report.to_pandas("weekly", by="repository")
    assert set(long["repository"]) == {"api"}
    assert len(long) == len(report.to_pandas("weekly"))
    pd.testing.assert_frame_equal(long.drop(columns="repository"), report.to_pandas("weekly", repository="api"))


def test_single_repository_plot(small: dm.Dataset) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    report = dm.compute(small, dm.Config(days=30, until=SMALL_UNTIL))
    fig = report.plot(repository="api")
    assert "api" in fig._suptitle.get_text()


def test_empty_report_long_tables() -> None:
    pytest.importorskip("pandas")
    report = dm.compute(dm.Dataset(), dm.Config(until="2026-01-01"))
    long = report.to_pandas("weekly", by="repository")
    assert long.empty and list(long.columns) == ["repository", *WEEKLY_COLUMNS]
    assert report.to_pandas("metrics")["level"].tolist() == ["workspace"]
    assert all(r.value is None or r.value == 0.0 for r in report.summary())


def test_sections_are_typed_at_run_time_too(sample_report: dm.Report) -> None:
    import pickle

    lt = sample_report.lead_time
    assert isinstance(lt, dm.LeadTime) and isinstance(lt, dm.Section)
    assert type(lt.phases).__name__ == "Phases" and type(lt.phases.coding).__name__ == "DurationStats"
    assert isinstance(lt.weekly[0], dm.WeekPoint) and isinstance(sample_report.window, dm.Window)
    assert isinstance(sample_report.repositories["web-app"], dm.Metrics)
    assert isinstance(sample_report.repositories["web-app"].lead_time, dm.LeadTime)
    assert isinstance(sample_report.diagnostics[0], dm.Diagnostic)
    assert type(pickle.loads(pickle.dumps(lt.phases))).__name__ == "Phases"
    assert repr(lt.excluded).startswith("LeadTimeExclusions({")
