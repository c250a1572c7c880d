"""The public surface: names, stubs, typing markers."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import dora_metrics as dm

PKG = Path(dm.__file__).resolve().parent


def test_public_names() -> None:
    for name in dm.__all__:
        assert hasattr(dm, name), name
    for name in ["Bitbucket", "PagerDuty", "Opsgenie", "IncidentIo", "collect", "compute", "Config", "Dataset",
                 "Report", "DoraError", "AuthError", "RateLimitError", "SourceError", "ConfigError",
                 "Store", "StoreError"]:
        assert name in dm.__all__, name
    assert dm.__version__.count(".") == 2


def test_documented_signatures() -> None:
    """The signatures DESIGN.md promises."""
    assert str(inspect.signature(dm.collect)).startswith("(source: 'Bitbucket | Dataset', incidents:")
    assert list(inspect.signature(dm.collect).parameters) == ["source", "incidents", "days", "until"]
    assert inspect.signature(dm.collect).parameters["days"].default == 90
    assert inspect.signature(dm.collect).parameters["days"].kind is inspect.Parameter.KEYWORD_ONLY
    params = inspect.signature(dm.Bitbucket).parameters
    assert list(params)[:6] == ["workspace", "repos", "base_url", "email", "api_token", "access_token"]
    assert params["base_url"].kind is inspect.Parameter.KEYWORD_ONLY
    for cls in (dm.PagerDuty, dm.Opsgenie, dm.IncidentIo):
        p = inspect.signature(cls).parameters
        assert p["token"].default is None and p["base_url"].kind is inspect.Parameter.KEYWORD_ONLY
    c = inspect.signature(dm.Config).parameters
    assert (c["days"].default, c["until"].default) == (90, None)
    assert list(inspect.signature(dm.compute).parameters)[:2] == ["dataset", "config"]


def test_typed_package_ships_stubs_and_marker() -> None:
    assert (PKG / "py.typed").exists()
    assert (PKG / "_native.pyi").exists()
    assert (PKG / "data" / "sample_dataset.json").exists()


def test_stubs_match_the_module() -> None:
    pytest.importorskip("mypy")
    # No allowlist: every runtime name of the extension is in its stub, and back.
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "dora_metrics"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_package_type_checks_strictly() -> None:
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(PKG)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr


GOOD = """
import datetime
import polars
import dora_metrics as dm

data = dm.sample_dataset()
report = dm.compute(data, dm.Config(until=dm.SAMPLE_UNTIL))
median: float | None = report.lead_time.phases.pickup.median_seconds
start: datetime.datetime = report.window.start
weeks: list[dm.WeekPoint] = report.deployment_frequency.weekly
frame: polars.DataFrame = report.to_polars("weekly", by="repository")
tier: str | None = report.repositories["web-app"].change_failure_rate.tier
signals: int = report.change_failure_rate.by_signal.revert
rows = data.records("pull_requests")
again: dm.Config = report.config.replace(days=30) if report.config else dm.Config()
"""

TYPOS = {
    'report.to_polars("chnages")': "to_polars",
    'report.to_polars("weekly", by="repo")': "to_polars",
    "report.lead_time.median": "median",
    "report.window.start + 1": "Unsupported operand",
    'data.records("commit")': "records",
    "report.change_failure_rate.by_signal.reverts": "reverts",
}


def test_stubs_catch_typos(tmp_path: Path) -> None:
    """Table names are Literals and sections are typed: mypy --strict flags each typo, and
    accepts the correct uses."""
    pytest.importorskip("mypy")
    lines = GOOD.splitlines() + [f"x{i} = {code}" for i, code in enumerate(TYPOS)]
    path = tmp_path / "notebook_cell.py"
    path.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--ignore-missing-imports",
         "--cache-dir", str(tmp_path / ".mypy_cache"), str(path)],
        capture_output=True, text=True, timeout=600,
    )
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    first_typo = len(GOOD.splitlines()) + 1
    assert all(int(e.split(":")[1]) >= first_typo for e in errors), out.stdout  # the good lines pass
    for i, (code, fragment) in enumerate(TYPOS.items()):
        mine = [e for e in errors if int(e.split(":")[1]) == first_typo + i]
        assert mine and fragment in " ".join(mine), (code, out.stdout)
