"""Frames in through the Arrow C stream interface: the same dataset as the row-by-row path."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

import dora_metrics as dm
from dora_metrics import _native
from conftest import small_records

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ingest_bench.py"
TABLES = ("repositories", "commits", "pull_requests", "environments", "deployments", "incidents")


def _rows_path(monkeypatch: pytest.MonkeyPatch, **tables: Any) -> dm.Dataset:
    with monkeypatch.context() as m:
        m.setenv("DORA_INGEST", "rows")
        return dm.Dataset(**tables)


def _arrow_path(**tables: Any) -> dm.Dataset:
    """Through the Arrow reader only (no fallback): raises if it cannot read a column."""
    native, extra = _native.Dataset.from_arrow(tables)
    assert extra == {}
    return dm.Dataset._wrap(native)


@pytest.mark.parametrize("kind", ["pandas", "polars", "polars-lazy", "pyarrow"])
def test_sample_frames_read_as_arrow_equal_the_rows(kind: str, sample: dm.Dataset,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frames: dict[str, Any] = {t: sample.to_pandas(t) for t in TABLES}
    if kind.startswith("polars"):
        pl = pytest.importorskip("polars")
        frames = {t: pl.from_pandas(f) for t, f in frames.items()}
    elif kind == "pyarrow":
        import pyarrow as pa

        frames = {t: pa.Table.from_pandas(f, preserve_index=False) for t, f in frames.items()}
    if kind != "polars-lazy":
        assert _arrow_path(**frames) == sample
    else:
        frames = {t: f.lazy() for t, f in frames.items()}
    assert dm.Dataset(**frames) == sample
    assert _rows_path(monkeypatch, **frames) == sample


def test_conveniences_match_the_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flat author columns, comma-separated lists, naive and string times, numeric ids and
    severities, lowercase enums, defaults: the Arrow reader reads them as the row path does."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    records = small_records()
    prs = pd.DataFrame([{**{k: v for k, v in r.items() if k != "author"}, "author_id": "u1", "author_name": "Jane",
                         "author_kind": "USER", "state": "MERGED"} for r in records["pull_requests"]])
    commits = pd.DataFrame([{**r, "parents": ",".join(r["parents"]), "author": "jane"} for r in records["commits"]])
    commits["authored_at"] = pd.to_datetime(commits["authored_at"]).dt.tz_localize(None)  # naive: UTC
    deployments = pd.DataFrame({
        "repository": ["api", "api"], "id": [7, 8], "environment": ["production", "staging"],
        "commit": ["a1", "a1"], "finished_at": [dt.datetime(2026, 3, 1, 10), pd.NaT],
        "started_at": ["2026-03-01T09:00:00Z", None], "status": ["SUCCEEDED", "Failed"],
    })
    environments = pd.DataFrame({"repository": ["api", "api"], "name": ["production", "staging"],
                                 "kind": ["Production", "staging"]})
    incidents = pd.DataFrame({"id": [11, 12], "source": ["PagerDuty", "opsgenie"], "severity": [2, None],
                              "opened_at": pd.to_datetime(["2026-03-01T12:00:00+02:00", "2026-03-02T00:00:00Z"], utc=True),
                              "resolved_at": [pd.NaT, pd.Timestamp("2026-03-02T05:00", tz="UTC")],
                              "repositories": ["api, web", None]})
    frames = dict(commits=commits, pull_requests=prs, deployments=deployments, environments=environments,
                  incidents=incidents, repositories=pd.DataFrame(records["repositories"]))
    by_rows = _rows_path(monkeypatch, **frames)
    assert _arrow_path(**frames) == by_rows
    assert dm.Dataset(**frames) == by_rows
    i = by_rows.records("incidents")
    assert [(x["id"], x["severity"], x["raw_severity"], x["status"]) for x in i] == [
        ("11", "P2", "2", "open"), ("12", None, None, "resolved")]


def test_a_column_it_cannot_read_falls_back_to_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    records = small_records()
    prs = pd.DataFrame(records["pull_requests"])  # author as a dict column: a struct in Arrow
    with pytest.raises(dm.DatasetError):
        _native.Dataset.from_arrow({"pull_requests": prs})
    assert dm.Dataset(pull_requests=prs) == _rows_path(monkeypatch, pull_requests=prs)
    # Bad data still gets the row path's message naming the table, row and field.
    bad = pd.DataFrame({"repository": ["api", "api"], "sha": ["a1", None],
                        "authored_at": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True)})
    with pytest.raises(dm.DatasetError, match=r"commits\[1\]: missing field `sha`"):
        dm.Dataset(commits=bad)


def test_dimensions_through_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    pl = pytest.importorskip("polars")
    records = small_records()
    deployments = pl.DataFrame([{**r, "pipeline": f"p-{r['id']}"} for r in records["deployments"]])
    repositories = pl.DataFrame([{"slug": "api", "team": "payments"}])
    fast = dm.Dataset(deployments=deployments, repositories=repositories)
    assert fast == _rows_path(monkeypatch, deployments=deployments, repositories=repositories)
    assert fast.dimensions == {"deployments": ["pipeline"], "repositories": ["team"]}
    _, extra = _native.Dataset.from_arrow({"deployments": deployments, "repositories": repositories})
    assert extra == {"deployments": ["pipeline"], "repositories": ["team"]}


def test_the_benchmark_workspace_goes_through_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's cloned workspace (here 20 repositories) reads through Arrow, equal to the rows."""
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    spec = importlib.util.spec_from_file_location("ingest_bench", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "argv", ["ingest_bench.py"])
    spec.loader.exec_module(bench)
    frames = bench.clone(10)
    fast = _arrow_path(**frames)
    assert fast == _rows_path(monkeypatch, **frames)
    assert len(fast.repositories) == 20 and len(fast) == sum(len(f) for f in frames.values())


def test_report_rows_stay_in_rust_until_asked(sample_report: dm.Report, sample: dm.Dataset) -> None:
    """Sections read the report without its rows; to_dict still has everything."""
    import json

    head = json.loads(sample_report._native.head_json())
    full = sample_report.to_dict()
    assert set(full) - set(head) == {"changes", "deployments", "incidents"}
    assert {k: v for k, v in full.items() if k in head} == head
    fresh = dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL))
    assert fresh._head is None  # nothing parsed yet
    assert fresh.lead_time.count == sample_report.lead_time.count
    assert fresh._head is not None and "changes" not in fresh._head
