from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL

ROOT = Path(__file__).resolve().parents[2]

CHANGES = {
    "repository": "str", "pull_request": "u64", "title": "str", "author": "str",
    "first_commit_at": "ts", "created_at": "ts", "first_review_at": "ts", "merged_at": "ts",
    "deployed_at": "ts", "deployment": "str", "lead_time_seconds": "f64", "coding_seconds": "f64",
    "pickup_seconds": "f64", "review_seconds": "f64", "deploy_seconds": "f64", "reviewed": "bool",
    "hotfix": "bool", "deployment_id": "str",
}
DEPLOYMENTS = {
    "repository": "str", "id": "str", "environment": "str", "commit": "str", "deployed_at": "ts",
    "status": "str", "changes": "i64", "failed": "bool", "signals": "list", "failed_deployment": "bool",
    "revert": "bool", "hotfix": "bool", "rollback": "bool", "incident": "bool", "evidence": "str",
    "restored_at": "ts", "recovery_seconds": "f64", "excused_rerun": "bool", "rework": "bool",
    "from_merge": "bool", "deployment_id": "str",
}
INCIDENTS = {
    "source": "str", "id": "str", "title": "str", "service": "str", "severity": "str", "opened_at": "ts",
    "resolved_at": "ts", "recovery_seconds": "f64", "counted": "bool", "deployment": "str",
    "repository": "str", "deployment_id": "str",
}
WEEKLY = {
    "week_start": "ts", "deployments": "i64", "lead_time_changes": "i64", "lead_time_median_seconds": "f64",
    "change_failure_deployments": "i64", "change_failure_rate": "f64", "recovered_failures": "i64",
    "recovery_median_seconds": "f64", "rework_rate": "f64",
}
SCHEMAS = {"changes": CHANGES, "deployments": DEPLOYMENTS, "incidents": INCIDENTS, "weekly": WEEKLY}


@pytest.fixture()
def small_report(small: dm.Dataset) -> dm.Report:
    return dm.compute(small, dm.Config(days=30, until=SMALL_UNTIL))


def test_hand_computed_values(small_report: dm.Report) -> None:
    r = small_report
    h = 3600.0
    assert r.deployment_frequency.count == 3  # d0 (baseline, in the window), d1, d3
    assert r.deployment_frequency.source == "deployments"
    assert r.lead_time.count == 1
    assert r.lead_time.median_seconds == 30 * h
    phases = r.lead_time.phases
    assert (phases.coding.median_seconds, phases.pickup.median_seconds) == (3 * h, 3 * h)
    assert (phases.review.median_seconds, phases.deploy.median_seconds) == (21 * h, 3 * h)
    cfr = r.change_failure_rate
    assert (cfr.deployments, cfr.failed) == (4, 2)  # d1 (incident), d2 (failed status)
    assert cfr.rate == 0.5
    assert (cfr.by_signal.failed_deployment, cfr.by_signal.incident, cfr.by_signal.revert) == (1, 1, 0)
    assert r.recovery_time.incidents.count == 1
    assert r.recovery_time.incidents.median_seconds == 2.5 * h
    assert r.recovery_time.deployments.count == 2
    # d2 -> d3 restored in 1 h; d1 -> the incident's resolution 4.5 h after d1.
    assert sorted(d["recovery_seconds"] for d in r.to_dict()["deployments"] if d["failures"]) == [1 * h, 4.5 * h]
    assert r.window.start == dt.datetime(2026, 2, 18, tzinfo=dt.timezone.utc) and r.window.days == 30
    assert r.to_dict()["window"]["start"] == "2026-02-18T00:00:00Z"  # the JSON schema keeps its text
    assert r.scope.repositories == ["api"]
    assert r.tier_year == 2024 and r.schema_version >= 1
    assert r.overall_tier in {"elite", "high", "medium", "low"}


def test_documented_schema_fields(sample_report: dm.Report) -> None:
    d = sample_report.to_dict()
    for path in [
        "window.start", "window.end",
        "deployment_frequency.count", "deployment_frequency.per_week", "deployment_frequency.deploy_days",
        "deployment_frequency.tier", "deployment_frequency.source",
        "lead_time.count", "lead_time.median_seconds", "lead_time.p90_seconds", "lead_time.mean_seconds",
        "lead_time.tier", "lead_time.phases.coding.median_seconds", "lead_time.phases.pickup.median_seconds",
        "lead_time.phases.review.median_seconds", "lead_time.phases.deploy.median_seconds",
        "change_failure_rate.deployments", "change_failure_rate.failed", "change_failure_rate.rate",
        "change_failure_rate.tier", "change_failure_rate.by_signal.failed_deployment",
        "change_failure_rate.by_signal.revert", "change_failure_rate.by_signal.hotfix",
        "change_failure_rate.by_signal.rollback", "change_failure_rate.by_signal.incident",
        "recovery_time.incidents.count", "recovery_time.incidents.unresolved",
        "recovery_time.incidents.median_seconds", "recovery_time.incidents.mean_seconds",
        "recovery_time.deployments.count", "recovery_time.deployments.median_seconds",
        "recovery_time.deployments.mean_seconds", "recovery_time.tier",
        "rework_rate.deployments", "rework_rate.rework", "rework_rate.rate",
        "scope.repositories", "repositories.payments-api.lead_time.median_seconds",
    ]:
        node: Any = d
        for key in path.split("."):
            assert key in node, path
            node = node[key]
        # ... and the same path by attribute access.
        node2: Any = sample_report
        for key in path.split("."):
            node2 = node2[key] if isinstance(node2, dict) else getattr(node2, key)
        if isinstance(node2, dt.datetime):  # times are datetimes by attribute, RFC 3339 text in to_dict
            assert node2 == dt.datetime.fromisoformat(node.replace("Z", "+00:00")), path
            continue
        assert (node2.to_dict() if isinstance(node2, dm.Section) else node2) == node, path
    assert {x["code"] for x in d["diagnostics"]} >= {"merge_fallback", "bot_prs_excluded", "unresolved_incidents"}
    assert all(x["severity"] in {"info", "warning", "error"} for x in d["diagnostics"])
    assert sample_report.diagnostics[0].code == d["diagnostics"][0]["code"]
    assert set(sample_report.repositories) == {"payments-api", "web-app"}
    assert d["change_failure_rate"]["by_signal"] == {
        "failed_deployment": 1, "revert": 1, "hotfix": 1, "rollback": 1, "incident": 3,
    }


def test_sections_are_read_only_and_helpful(sample_report: dm.Report) -> None:
    lt = sample_report.lead_time
    with pytest.raises(AttributeError, match="median_seconds"):
        lt.median  # noqa: B018
    with pytest.raises(AttributeError):
        lt.count = 3
    assert "median_seconds" in dir(lt) and len(lt) == len(lt.to_dict())
    assert lt["phases"]["coding"].count == lt.count
    copy = sample_report.to_dict()
    copy["lead_time"]["count"] = -1
    assert sample_report.lead_time.count != -1  # to_dict returns a copy


def test_json_round_trip(sample_report: dm.Report) -> None:
    again = dm.Report.from_json(sample_report.to_json())
    assert again.to_dict() == sample_report.to_dict()
    assert json.loads(sample_report.to_json(pretty=True)) == sample_report.to_dict()
    with pytest.raises(dm.DatasetError, match="not a dora report"):
        dm.Report.from_json('{"window": 1}')


def _rust_report(dataset: Path, until: str, config: Path | None = None) -> dict[str, Any]:
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed: cannot build the Rust reference")
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(ROOT / "target-py"))
    cmd = [cargo, "run", "-q", "-p", "dora-py", "--example", "report_json", "--", str(dataset)]
    if config is not None:
        cmd.append(str(config))
    cmd += ["--now", until]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_identical_to_the_rust_engine(sample: dm.Dataset, tmp_path: Path) -> None:
    """The binding adds nothing and loses nothing: same dataset + config -> same report as dora-core."""
    path = tmp_path / "sample.json"
    sample.save(path)
    toml = tmp_path / "dora.toml"
    toml.write_text('days = 60\nseverities = ["P1", "P2", "P3"]\n[hotfix]\nwindow_hours = 12\n')
    until = "2026-10-20T00:00:00Z"
    rust = _rust_report(path, until, toml)
    py = dm.compute(dm.Dataset.load(path), dm.Config(days=60, severities=["P1", "P2", "P3"], hotfix_window_hours=12),
                    now=until)
    assert py.to_dict() == rust
    assert dm.compute(sample, dm.Config.from_toml(toml.read_text()), now=until).to_dict() == rust


def _check_pandas(df: Any, schema: dict[str, str]) -> None:
    pd = pytest.importorskip("pandas")
    assert list(df.columns) == list(schema)
    for col, kind in schema.items():
        dtype = df[col].dtype
        if kind == "ts":
            assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC", col
        elif kind == "str":
            assert pd.api.types.is_string_dtype(dtype), (col, dtype)
        elif kind == "f64":
            assert dtype == "float64", col
        elif kind in ("i64", "u64"):
            assert dtype == ("int64" if kind == "i64" else "uint64"), (col, dtype)
        elif kind == "bool":
            assert dtype == "bool", col


def _check_polars(df: Any, schema: dict[str, str]) -> None:
    pl = pytest.importorskip("polars")
    assert df.columns == list(schema)
    expected = {
        "ts": pl.Datetime("us", "UTC"), "str": pl.String, "f64": pl.Float64, "i64": pl.Int64,
        "u64": pl.UInt64, "bool": pl.Boolean, "list": pl.List(pl.String),
    }
    for col, kind in schema.items():
        assert df.schema[col] == expected[kind], (col, df.schema[col])


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_frames_columns_and_dtypes(sample_report: dm.Report, table: str) -> None:
    d = sample_report.to_dict()
    rows = len(d[table]) if table != "weekly" else len(d["deployment_frequency"]["weekly"])
    assert rows > 0
    pdf = sample_report.to_pandas(table)
    _check_pandas(pdf, SCHEMAS[table])
    assert len(pdf) == rows
    pldf = sample_report.to_polars(table)
    _check_polars(pldf, SCHEMAS[table])
    assert len(pldf) == rows
    arrow = sample_report.to_arrow(table)
    assert arrow.num_rows == rows and arrow.column_names == list(SCHEMAS[table])
    assert len(sample_report.table(table)) == rows


def test_frame_values_match_the_report(sample_report: dm.Report) -> None:
    pl = pytest.importorskip("polars")
    d = sample_report.to_dict()
    changes = sample_report.to_polars("changes")
    assert changes["lead_time_seconds"].to_list() == [c["lead_time_seconds"] for c in d["changes"]]
    assert changes["lead_time_seconds"].median() == d["lead_time"]["median_seconds"]
    phases = changes.select(pl.col("coding_seconds") + pl.col("pickup_seconds") + pl.col("review_seconds")
                            + pl.col("deploy_seconds"))
    assert phases.to_series().to_list() == pytest.approx(changes["lead_time_seconds"].to_list())
    deps = sample_report.to_polars("deployments")
    assert deps["failed"].sum() == d["change_failure_rate"]["failed"]
    for signal in ("failed_deployment", "revert", "hotfix", "rollback", "incident"):
        assert deps[signal].sum() == d["change_failure_rate"]["by_signal"][signal], signal
    assert deps.filter(pl.col("revert"))["signals"].to_list() == [["revert"]]
    assert deps.filter(pl.col("revert"))["evidence"].item().startswith("revert: ")
    incidents = sample_report.to_pandas("incidents")
    assert incidents["counted"].sum() == sum(i["counted"] for i in d["incidents"])
    weekly = sample_report.to_pandas("weekly")
    assert weekly["deployments"].sum() == d["deployment_frequency"]["count"]
    assert weekly["change_failure_deployments"].sum() == d["change_failure_rate"]["deployments"]
    assert [p["value"] for p in d["rework_rate"]["weekly"]] == weekly["rework_rate"].tolist()


def test_per_repository_weekly(sample_report: dm.Report) -> None:
    api = sample_report.to_polars("weekly", repository="payments-api")
    web = sample_report.to_polars("weekly", repository="web-app")
    total = sample_report.to_polars("weekly")
    assert (api["deployments"] + web["deployments"]).to_list() == total["deployments"].to_list()
    with pytest.raises(dm.ConfigError, match="not in this report"):
        sample_report.to_polars("weekly", repository="nope")
    with pytest.raises(dm.ConfigError, match="weekly table only"):
        sample_report.table("changes", repository="web-app")
    with pytest.raises(dm.ConfigError, match="unknown table"):
        sample_report.to_pandas("builds")


def test_empty_report_frames_keep_their_schema() -> None:
    report = dm.compute(dm.Dataset(), dm.Config(until="2026-01-01"))
    for table, schema in SCHEMAS.items():
        if table == "weekly":
            continue
        df = report.to_polars(table)
        assert df.is_empty() and df.columns == list(schema)
    assert report.lead_time.median_seconds is None
    assert report.overall_tier is None
    assert "DORA report" in repr(report)


def test_missing_optional_package_names_it(sample_report: dm.Report, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_polars(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "polars" or name.startswith("polars."):
            raise ImportError("No module named 'polars'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "polars", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_polars)
    with pytest.raises(ImportError, match="pip install polars"):
        sample_report.to_polars("changes")


def test_html_and_repr(sample_report: dm.Report) -> None:
    page = sample_report._repr_html_()
    assert page.startswith("<div") and "Lead time for changes" in page and "merge_fallback" in page
    assert "<script" not in page
    text = repr(sample_report)
    assert "Deployment frequency" in text and "overall tier" in text
    assert [m for m, _, _ in sample_report.summary()][0] == "Deployment frequency"


def test_plot(sample_report: dm.Report, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = sample_report.plot()
    assert len([ax for ax in fig.axes if ax.has_data()]) == 5
    fig.savefig(tmp_path / "trends.png")
    assert (tmp_path / "trends.png").stat().st_size > 10_000
    fig2 = sample_report.plot("payments-api")
    assert "payments-api" in fig2._suptitle.get_text()
    with pytest.raises(dm.ConfigError):
        sample_report.plot("nope")


def test_compute_arguments(small: dm.Dataset) -> None:
    by_dict = dm.compute(small, {"days": 30, "until": SMALL_UNTIL})
    by_config = dm.compute(small, dm.Config(days=30, until=SMALL_UNTIL))
    assert by_dict.to_dict() == by_config.to_dict()
    # `now` stands in for a missing until; an explicit until wins.
    assert dm.compute(small, dm.Config(days=30), now=SMALL_UNTIL).to_dict() == by_config.to_dict()
    default = dm.compute(small)
    assert default.window.days == 90
    with pytest.raises(TypeError):
        dm.compute(small.to_json())  # type: ignore[arg-type]
    with pytest.raises(dm.ConfigError):
        dm.compute(small, {"days": 0})


def test_accounting_ledgers_balance(sample_report: dm.Report) -> None:
    acc = sample_report.accounting
    assert set(acc) == {"pull_requests", "deployments", "incidents", "commits"}
    for kind, ledger in acc.items():
        assert ledger["fetched"] == ledger["used"] + sum(ledger["excluded"].values()), kind
    assert acc.pull_requests.used == sample_report.lead_time.count
    assert acc.pull_requests.excluded.get("bots", 0) == sample_report.lead_time.excluded.bots
    # The change-failure denominator also holds merges standing in for deployments
    # (the merge fallback); those are not fetched deployments.
    rows = sample_report.to_dict()["deployments"]
    assert acc.deployments.used == sum(1 for d in rows if not d["from_merge"])
    assert sample_report.change_failure_rate.deployments == len(rows)


def test_skipped_items_are_accounted_and_diagnosed(sample: dm.Dataset) -> None:
    data = json.loads(sample.to_json())
    data["collection"] = {
        "skipped": [
            {"kind": "deployment", "scope": "payments-api", "id": "{d-unreadable}",
             "reason": "missing_status", "detail": "deployment {d-unreadable}: COMPLETED without status"},
        ],
    }
    report = dm.compute(dm.Dataset.from_json(json.dumps(data)), dm.Config(until=dm.SAMPLE_UNTIL))
    dep = report.accounting.deployments
    assert dep.excluded["missing_status"] == 1
    assert dep.fetched == dep.used + sum(dep.excluded.values())
    skipped = [d for d in report.diagnostics if d.code == "skipped_events"]
    assert skipped and "missing_status" in skipped[0].message


def test_benchmarks_against_a_chosen_group(sample: dm.Dataset) -> None:
    import math

    report = dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL, industry="technology"))
    b = report.benchmarks
    assert b is not None
    assert (b.reference.edition, b.reference.group, b.reference.key) == (2025, "industry", "technology")
    lt = b.lead_time
    median = report.lead_time.median_seconds
    expected_bucket = next(
        k for k, edge in [(6, 3600), (5, 86400), (4, 7 * 86400), (3, 30 * 86400), (2, 182 * 86400), (1, math.inf)]
        if median < edge
    )
    assert lt.bucket == expected_bucket and lt.score == (expected_bucket - 1) * 2
    # Technology's lead-time distribution: mean 5.7, std 2.4.
    assert lt.z == pytest.approx((lt.score - 5.7) / 2.4, abs=1e-3)
    assert lt.percentile == pytest.approx(50 * (1 + math.erf(lt.z / math.sqrt(2))), abs=0.06)
    cfr = b.change_failure_rate
    assert "bucket" not in cfr and cfr.score == pytest.approx(10 - report.change_failure_rate.rate * 10, abs=1e-3)
    assert dm.Config(org_size="fewer_than_100").org_size == "fewer_than_100"
    with pytest.raises(dm.ConfigError, match="fintech"):
        dm.Config(industry="fintech")
    with pytest.raises(dm.ConfigError, match="not both"):
        dm.Config(industry="technology", org_size="solo")
