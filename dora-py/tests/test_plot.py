"""Plotting: metric=, ax=, by="repository", and figures built without pyplot."""

from __future__ import annotations

from pathlib import Path

import pytest

import dora_metrics as dm


@pytest.fixture()
def pyplot() -> object:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    return plt


def test_figures_are_built_without_pyplot(sample_report: dm.Report, pyplot: object, tmp_path: Path) -> None:
    """pyplot keeps no figure, so a notebook cell ending in report.plot() shows it once."""
    plt = pyplot
    fig = sample_report.plot()
    assert plt.get_fignums() == []  # type: ignore[attr-defined]
    assert len([ax for ax in fig.axes if ax.has_data()]) == 5
    fig.savefig(tmp_path / "all.png")
    assert (tmp_path / "all.png").stat().st_size > 10_000
    sample_report.plot(metric="lead_time", by="repository")
    assert plt.get_fignums() == []  # type: ignore[attr-defined]


def test_one_metric(sample_report: dm.Report, pyplot: object) -> None:
    fig = sample_report.plot(metric="change_failure_rate")
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "Change failure rate (%)"
    line = fig.axes[0].lines[0]
    expected = [100 * p.value for p in sample_report.change_failure_rate.weekly if p.value is not None]
    assert [y for y in line.get_ydata() if y == y] == pytest.approx(expected)
    with pytest.raises(dm.ConfigError, match="metric="):
        sample_report.plot(metric="lead_times")  # type: ignore[arg-type]


def test_into_an_axes_of_your_own(sample_report: dm.Report, pyplot: object) -> None:
    from matplotlib.figure import Figure

    mine = Figure()
    left, right = mine.subplots(1, 2)
    assert sample_report.plot(metric="lead_time", ax=left) is mine
    sample_report.plot(metric="rework_rate", ax=right, repository="payments-api")
    assert left.has_data() and right.has_data() and len(mine.axes) == 2
    assert left.get_title() == "Lead time, median (hours)"
    with pytest.raises(dm.ConfigError, match="metric="):
        sample_report.plot(ax=left)


def test_by_repository_draws_one_line_each(sample_report: dm.Report, pyplot: object) -> None:
    fig = sample_report.plot(metric="deployment_frequency", by="repository")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["payments-api", "web-app"]
    web = [p.value for p in sample_report.repositories["web-app"].deployment_frequency.weekly]
    assert list(ax.lines[1].get_ydata()) == pytest.approx(web)
    assert ax.get_legend() is not None
    grid = sample_report.plot(by="repository")
    assert all(len(a.lines) == 2 for a in grid.axes if a.has_data())
    with pytest.raises(dm.ConfigError, match="not both"):
        sample_report.plot(repository="web-app", by="repository")
