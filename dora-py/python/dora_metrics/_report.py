"""`Report`: attribute access to every metric, frames, HTML and plots."""

from __future__ import annotations

import datetime as _dt
import html
import importlib
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from . import _native

FRAME_TABLES = ("changes", "deployments", "incidents", "weekly", "metrics")

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

    #: The name of a report table (`Report.to_pandas` and friends). For type
    #: checkers only (stubtest cannot match a Literal alias at run time).
    _ReportTable: TypeAlias = Literal["changes", "deployments", "incidents", "weekly", "metrics"]
    _PlotMetric: TypeAlias = Literal[
        "deployment_frequency", "lead_time", "change_failure_rate", "recovery_time", "rework_rate"
    ]

    # Concrete frame types for type checkers; none of these is needed at run time.
    import pandas as _pandas  # type: ignore[import-untyped, unused-ignore]
    import polars as _polars
    import pyarrow as _pyarrow  # type: ignore[import-untyped, unused-ignore]
    from matplotlib.figure import Figure as _Figure


def _require(module: str, feature: str, package: str | None = None) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"{feature} needs the optional package {package or module!r}: "
            f"pip install {package or module}"
        ) from e


def _is_time_key(key: str) -> bool:
    return key in ("start", "end", "week_start") or key.endswith("_at")


def _time(text: str) -> Any:
    """An aware UTC datetime from the report's RFC 3339 text (the text when it is not one)."""
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(_dt.timezone.utc)
    except ValueError:
        return text


def _wrap(value: Any, key: str = "", kind: type[Section] | None = None) -> Any:
    if isinstance(value, dict):
        return (kind or Section)(value)
    if isinstance(value, list):
        return [_wrap(v, "", kind) for v in value]
    if isinstance(value, str) and _is_time_key(key):
        return _time(value)
    return value


def _html_value(value: Any) -> str:
    e = html.escape
    if isinstance(value, Section):
        return value._repr_html_()
    if isinstance(value, list):
        if value and all(isinstance(v, Section) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{e(k)}</th>" for k in keys)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html_value(v.get(k))}</td>" for k in keys) + "</tr>" for v in value
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return e(", ".join(str(v) for v in value))
    if value is None:
        return "–"
    if isinstance(value, _dt.datetime):
        return e(value.isoformat())
    return e(str(value))


class Section(Mapping[str, Any]):
    """A read-only part of the report: ``section.median_seconds`` or ``section["median_seconds"]``.

    Nested objects are Sections too; times (``start``, ``end``, ``week_start``,
    ``*_at``) are aware UTC ``datetime``s. `to_dict()` gives the JSON schema's
    plain values (times as RFC 3339 strings). Sections compare, copy and pickle
    by value; in a notebook they show as a table.
    """

    __slots__ = ("_data",)
    _data: dict[str, Any]

    #: The Section subclass of each nested field (others are plain Sections).
    _nested: ClassVar[dict[str, type[Section]]] = {}

    def __init__(self, data: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(data))

    if not TYPE_CHECKING:
        # Hidden from type checkers, so that a misspelt field of a typed section
        # (`report.lead_time.median`) is a type error; `section["x"]` is the untyped way.
        def __getattr__(self, name: str) -> Any:
            if name.startswith("__") or name == "_data":
                # Not a field: copy and pickle probe dunders on a half-built object.
                raise AttributeError(name)
            try:
                return _wrap(self._data[name], name, self._nested.get(name))
            except KeyError:
                raise AttributeError(
                    f"no field {name!r} here (fields: {', '.join(self._data)})"
                ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("report sections are read-only")

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key], key, self._nested.get(key))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __dir__(self) -> list[str]:
        return sorted(set(self._data) | {"to_dict"})

    def to_dict(self) -> dict[str, Any]:
        """The section as plain dicts and lists (a copy)."""
        copied: dict[str, Any] = json.loads(json.dumps(self._data))
        return copied

    def __reduce__(self) -> tuple[type[Section], tuple[dict[str, Any]]]:
        return (type(self), (self._data,))

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_html_value(self[k])}</td></tr>" for k in self
        )
        return f'<table class="dora-section">{rows}</table>'

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


# -- typed sections: the JSON schema's objects, field by field ------------------------
# Plain Sections at run time (attribute and item access, datetimes, HTML repr);
# the annotations tell type checkers each field's type.


class Window(Section):
    """The report window ``[start, end)``."""

    start: _dt.datetime
    end: _dt.datetime
    days: int


class Scope(Section):
    """Repositories covered and the dataset's event counts."""

    repositories: list[str]
    commits: int
    pull_requests: int
    deployments: int
    incidents: int


class WeekPoint(Section):
    """One week of a metric's series."""

    week_start: _dt.datetime
    count: int
    value: float | None


class DeploymentFrequency(Section):
    """Deployment frequency."""

    count: int
    per_week: float
    per_day: float
    deploy_days: int
    tier: str | None
    source: str
    weekly: list[WeekPoint]
    _nested = {"weekly": WeekPoint}


class DurationStats(Section):
    """Median, p90 and mean of durations, in seconds."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None


class Phases(Section):
    """The four phases of lead time."""

    coding: DurationStats
    pickup: DurationStats
    review: DurationStats
    deploy: DurationStats
    _nested = {"coding": DurationStats, "pickup": DurationStats, "review": DurationStats, "deploy": DurationStats}


class LeadTimeExclusions(Section):
    """Pull requests left out of lead time, by reason."""

    bots: int
    not_deployed: int
    baseline: int
    merge_commit_unknown: int
    history_truncated: int
    promotion: int


class LeadTime(Section):
    """Lead time for changes."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None
    tier: str | None
    phases: Phases
    unreviewed: int
    excluded: LeadTimeExclusions
    weekly: list[WeekPoint]
    _nested = {"phases": Phases, "excluded": LeadTimeExclusions, "weekly": WeekPoint}


class SignalCounts(Section):
    """Failed deployments per failure signal."""

    failed_deployment: int
    revert: int
    hotfix: int
    rollback: int
    incident: int


class ChangeFailureRate(Section):
    """Change failure rate."""

    deployments: int
    failed: int
    rate: float | None
    tier: str | None
    by_signal: SignalCounts
    excused_reruns: int
    weekly: list[WeekPoint]
    _nested = {"by_signal": SignalCounts, "weekly": WeekPoint}


class IncidentRecovery(Section):
    """Incident-based recovery time (MTTR)."""

    count: int
    unresolved: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None
    excluded_by_severity: int


class DeploymentRecovery(Section):
    """Failed deployment recovery time."""

    count: int
    unrecovered: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None


class RecoveryTime(Section):
    """Recovery time, both measures."""

    incidents: IncidentRecovery
    deployments: DeploymentRecovery
    tier: str | None
    weekly: list[WeekPoint]
    _nested = {"incidents": IncidentRecovery, "deployments": DeploymentRecovery, "weekly": WeekPoint}


class ReworkRate(Section):
    """Rework rate."""

    deployments: int
    rework: int
    rate: float | None
    weekly: list[WeekPoint]
    _nested = {"weekly": WeekPoint}


class Metrics(Section):
    """The five metrics of one scope (a repository in `Report.repositories`)."""

    deployment_frequency: DeploymentFrequency
    lead_time: LeadTime
    change_failure_rate: ChangeFailureRate
    recovery_time: RecoveryTime
    rework_rate: ReworkRate
    overall_tier: str | None
    _nested = {
        "deployment_frequency": DeploymentFrequency,
        "lead_time": LeadTime,
        "change_failure_rate": ChangeFailureRate,
        "recovery_time": RecoveryTime,
        "rework_rate": ReworkRate,
    }


class MetricBenchmark(Section):
    """Where one metric stands in the DORA 2025 distribution (`bucket` for the bucketed three)."""

    score: float
    z: float
    percentile: float


class BenchmarkReference(Section):
    """The survey group compared against."""

    edition: int
    group: str
    key: str
    name: str
    source: str


class Benchmarks(Section):
    """Per metric its benchmark (None without a value), and the reference group."""

    lead_time: MetricBenchmark | None
    deployment_frequency: MetricBenchmark | None
    change_failure_rate: MetricBenchmark | None
    recovery_time: MetricBenchmark | None
    rework_rate: MetricBenchmark | None
    reference: BenchmarkReference
    _nested = {
        "lead_time": MetricBenchmark,
        "deployment_frequency": MetricBenchmark,
        "change_failure_rate": MetricBenchmark,
        "recovery_time": MetricBenchmark,
        "rework_rate": MetricBenchmark,
        "reference": BenchmarkReference,
    }


class Ledger(Section):
    """One kind of event: `fetched == used + sum(excluded.values())`."""

    fetched: int
    used: int
    excluded: Section


class Accounting(Section):
    """Every fetched event used or excluded for a named reason, per kind."""

    pull_requests: Ledger
    deployments: Ledger
    incidents: Ledger
    commits: Ledger
    _nested = {"pull_requests": Ledger, "deployments": Ledger, "incidents": Ledger, "commits": Ledger}


class Diagnostic(Section):
    """A data-quality finding (`repository` when it concerns one: ``"repository" in d``)."""

    code: str
    severity: str
    message: str
    repository: str


_METRIC_KEYS = (
    "deployment_frequency",
    "lead_time",
    "change_failure_rate",
    "recovery_time",
    "rework_rate",
    "overall_tier",
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"


class SummaryRow(NamedTuple):
    """One metric of `Report.summary()`: its headline number (None without data) and tier."""

    metric: str
    value: float | None
    tier: str | None

    @property
    def unit(self) -> str:
        """Unit of `value`: ``per week``, ``seconds`` or ``ratio``."""
        return _UNITS[self.metric]


_UNITS = {
    "Deployment frequency": "per week",
    "Lead time for changes": "seconds",
    "Change failure rate": "ratio",
    "Recovery time": "seconds",
    "Rework rate": "ratio",
}


def _diagnostic_line(d: Mapping[str, Any]) -> str:
    where = f" [{d['repository']}]" if d.get("repository") else ""
    return f"{d['severity']}: {d['code']}{where}: {d['message']}"


class Report:
    """A computed DORA report.

    Every field of the JSON schema is an attribute (``report.lead_time.median_seconds``,
    ``report.change_failure_rate.by_signal.revert``); `to_dict()` is the JSON schema
    as Python values. The rows behind each metric come as frames:
    ``report.to_pandas("changes")``, ``report.to_polars("deployments")`` — tables
    ``changes`` (lead time per PR with its phases), ``deployments`` (with failure
    signals), ``incidents`` and ``weekly`` (every metric's weekly series).
    """

    __slots__ = ("_native", "_head", "_dims")

    def __init__(self, native: _native.Report, dimensions: Mapping[str, Any] | None = None) -> None:
        self._native = native
        self._head: dict[str, Any] | None = None
        self._dims: dict[str, Any] = dict(dimensions or {})

    @property
    def _dict(self) -> dict[str, Any]:
        """The report's JSON but its rows, read from Rust on first use (the rows
        stay in Rust until a frame or `to_dict` asks for them)."""
        if self._head is None:
            self._head = json.loads(self._native.head_json())
        return self._head

    @property
    def config(self) -> _native.Config | None:
        """The `Config` this report was computed with, its ``until`` set to the
        window end it used (so ``dm.compute(data, report.config)`` computes it
        again); None for a report read with `from_json`."""
        return self._native.config

    def __eq__(self, other: object) -> bool:
        """Equal when both hold the same values and were computed with the same config."""
        return isinstance(other, Report) and self._native == other._native and self._dims == other._dims

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[Report], tuple[_native.Report, dict[str, Any]]]:
        return (Report, (self._native, self._dims))

    def _dimension_columns(
        self, table: str, columns: Mapping[str, list[Any]], existing: list[str]
    ) -> dict[str, list[Any]]:
        """The dataset's dimensions for the rows of `table`, whose key columns are `columns`
        (a dimension named like an `existing` column is prefixed with its table):
        repository dimensions on every table with a repository, pull request ones on
        `changes`, deployment ones on `deployments`, incident ones on `incidents`."""
        joins: list[tuple[str, tuple[str, ...]]] = []
        if "repository" in columns:
            joins.append(("repositories", ("repository",)))
        joins += {
            "changes": [("pull_requests", ("repository", "pull_request"))],
            "deployments": [("deployments", ("repository", "deployment_id"))],
            "incidents": [("incidents", ("source", "id"))],
        }.get(table, [])
        out: dict[str, list[Any]] = {}
        for source, key_columns in joins:
            by_key = self._dims.get(source)
            if not by_key:
                continue
            names = sorted({c for cols in by_key.values() for c in cols})
            keys = list(zip(*(columns[k] for k in key_columns)))
            for name in names:
                column = name if name not in existing and name not in out else f"{source}_{name}"
                out[column] = [by_key.get(k, {}).get(name) for k in keys]
        return out

    def _key_columns(self, table: str) -> list[str]:
        keys = {"changes": ["pull_request"], "deployments": ["deployment_id"], "incidents": ["source", "id"]}
        return ["repository", *keys.get(table, [])]

    @classmethod
    def from_json(cls, text: str) -> Report:
        """Read a report back from its JSON (`to_json`, or the `dora` command's `--format json`)."""
        return cls(_native.Report.from_json(text))

    # -- the JSON schema -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The report in the documented JSON schema, as Python values (a fresh copy)."""
        copied: dict[str, Any] = json.loads(self._native.to_json())
        return copied

    def to_json(self, pretty: bool = False) -> str:
        """The report as JSON (the documented schema)."""
        return self._native.to_json(pretty)

    @property
    def schema_version(self) -> int:
        """Version of the JSON schema."""
        return int(self._dict["schema_version"])

    @property
    def window(self) -> Window:
        """`start`, `end` (aware UTC datetimes) and `days` of the window."""
        return Window(self._dict["window"])

    @property
    def scope(self) -> Scope:
        """Repositories covered and the dataset's event counts."""
        return Scope(self._dict["scope"])

    @property
    def tier_year(self) -> int:
        """DORA report year of the tiers."""
        return int(self._dict["tier_year"])

    @property
    def deployment_frequency(self) -> DeploymentFrequency:
        """`count`, `per_week`, `per_day`, `deploy_days`, `tier`, `source`, `weekly`."""
        return DeploymentFrequency(self._dict["deployment_frequency"])

    @property
    def lead_time(self) -> LeadTime:
        """`count`, `median_seconds`, `p90_seconds`, `mean_seconds`, `tier`, `phases`, ..."""
        return LeadTime(self._dict["lead_time"])

    @property
    def change_failure_rate(self) -> ChangeFailureRate:
        """`deployments`, `failed`, `rate`, `tier`, `by_signal`, `excused_reruns`, `weekly`."""
        return ChangeFailureRate(self._dict["change_failure_rate"])

    @property
    def recovery_time(self) -> RecoveryTime:
        """`incidents` (MTTR), `deployments` (failed deployment recovery), `tier`, `weekly`."""
        return RecoveryTime(self._dict["recovery_time"])

    @property
    def rework_rate(self) -> ReworkRate:
        """`deployments`, `rework`, `rate`, `weekly`."""
        return ReworkRate(self._dict["rework_rate"])

    @property
    def overall_tier(self) -> str | None:
        """Overall tier (`elite`, `high`, `medium`, `low`), or None without data."""
        tier: str | None = self._dict.get("overall_tier")
        return tier

    @property
    def benchmarks(self) -> Benchmarks | None:
        """Where the workspace stands in the DORA 2025 survey distributions: per
        metric `bucket` (the three bucketed ones), `score`, `z` and `percentile`
        (None without a value), and `reference` (edition, group, key, name, source).
        Choose the group with ``Config(industry=...)`` or ``Config(org_size=...)``."""
        b = self._dict.get("benchmarks")
        return None if b is None else Benchmarks(b)

    @property
    def accounting(self) -> Accounting:
        """Every fetched event used or excluded for a named reason: per kind
        (`pull_requests`, `deployments`, `incidents`, `commits`) `fetched`, `used`
        and `excluded` (reason -> count), with `fetched == used + sum(excluded)`."""
        return Accounting(self._dict["accounting"])

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Data-quality findings: `code`, `severity`, `message` (and `repository`)."""
        return [Diagnostic(d) for d in self._dict["diagnostics"]]

    @property
    def repositories(self) -> dict[str, Metrics]:
        """Per-repository metrics by slug. A single-repository report has its one
        entry too (the workspace's metrics: they are that repository's)."""
        per_repo = self._dict.get("repositories") or {}
        if not per_repo and len(self._dict["scope"]["repositories"]) == 1:
            slug = self._dict["scope"]["repositories"][0]
            per_repo = {slug: {k: self._dict[k] for k in _METRIC_KEYS if k in self._dict}}
        return {k: Metrics(v) for k, v in per_repo.items()}

    # -- frames ----------------------------------------------------------------------
    def table(
        self, name: _ReportTable = "changes", repository: str | None = None, by: Literal["repository"] | None = None
    ) -> _native._ArrowStream:
        """One table as an Arrow stream object (`__arrow_c_stream__`), for any Arrow consumer.

        ``by="repository"`` (weekly only) gives every repository's weekly series
        in one long table, one row per (repository, week) with a `repository`
        column; ``repository=`` one repository's series."""
        return self._native.table(name, repository, by)

    def to_arrow(
        self, table: _ReportTable = "changes", repository: str | None = None, by: Literal["repository"] | None = None
    ) -> _pyarrow.Table:
        """One table as a `pyarrow.Table` (needs pyarrow). Each field carries its
        column dictionary entry as metadata (``meaning``, ``unit``, ``nulls``);
        the dataset's dimensions follow as extra columns."""
        pa = _require("pyarrow", "to_arrow")
        result = pa.table(self.table(table, repository, by))
        if self._dims:
            keys = {c: result.column(c).to_pylist() for c in self._key_columns(table) if c in result.column_names}
            for name, values in self._dimension_columns(table, keys, result.column_names).items():
                result = result.append_column(name, pa.array(values))
        return result

    def to_pandas(
        self, table: _ReportTable = "changes", repository: str | None = None, by: Literal["repository"] | None = None
    ) -> _pandas.DataFrame:
        """One table as a pandas DataFrame (needs pandas; pandas < 3 also needs pyarrow).

        Times are ``datetime64[us, UTC]``, durations float seconds.
        ``report.to_pandas("weekly", by="repository")`` is the long weekly table.
        The dataset's dimensions (extra input columns such as ``team``) follow.
        """
        pd = _require("pandas", "to_pandas")
        arrow = self.table(table, repository, by)
        from_arrow = getattr(pd.DataFrame, "from_arrow", None)
        if from_arrow is not None:
            frame = from_arrow(arrow)
        else:
            pa = _require("pyarrow", "to_pandas with pandas < 3")
            frame = pa.table(arrow).to_pandas()
        if self._dims:
            keys = {c: frame[c].tolist() for c in self._key_columns(table) if c in frame.columns}
            for name, values in self._dimension_columns(table, keys, list(frame.columns)).items():
                frame[name] = pd.Series(values, index=frame.index, dtype=object if not values else None)
        return frame

    def to_polars(
        self, table: _ReportTable = "changes", repository: str | None = None, by: Literal["repository"] | None = None
    ) -> _polars.DataFrame:
        """One table as a polars DataFrame (needs polars). Times are ``Datetime("us", "UTC")``;
        the dataset's dimensions follow."""
        pl = _require("polars", "to_polars")
        frame: _polars.DataFrame = pl.DataFrame(self.table(table, repository, by))
        if self._dims:
            keys = {c: frame[c].to_list() for c in self._key_columns(table) if c in frame.columns}
            extra = self._dimension_columns(table, keys, frame.columns)
            if extra:
                frame = frame.with_columns([pl.Series(name, values) for name, values in extra.items()])
        return frame

    # -- display ---------------------------------------------------------------------
    def summary(self) -> list[SummaryRow]:
        """(metric, value, tier) for the five metrics, numbers not text: deployments per
        week, median lead time in seconds, change failure rate (0..1), median recovery
        seconds (failed deployment recovery, else incidents), rework rate (0..1).
        ``row.unit`` names the unit; `summary_text()` gives the formatted values (what
        `summary()` returned before), ``to_pandas("metrics")`` every number per repository."""
        d = self._dict
        rt = d["recovery_time"]
        # Decided in Rust (RecoveryTime::headline_seconds), like the tier.
        recovery = self._native.recovery_headline_seconds
        return [
            SummaryRow("Deployment frequency", d["deployment_frequency"]["per_week"], d["deployment_frequency"]["tier"]),
            SummaryRow("Lead time for changes", d["lead_time"]["median_seconds"], d["lead_time"]["tier"]),
            SummaryRow("Change failure rate", d["change_failure_rate"]["rate"], d["change_failure_rate"]["tier"]),
            SummaryRow("Recovery time", recovery, rt["tier"]),
            SummaryRow("Rework rate", d["rework_rate"]["rate"], None),
        ]

    def summary_text(self) -> list[tuple[str, str, str | None]]:
        """(metric, headline value as text, tier) for the five metrics, as shown by ``repr``."""
        d = self._dict
        df, lt, cfr = d["deployment_frequency"], d["lead_time"], d["change_failure_rate"]
        rw = d["rework_rate"]
        recovery = self.summary()[3]
        return [
            ("Deployment frequency", f"{df['per_week']:.2f} / week ({df['count']} deploys)", df["tier"]),
            ("Lead time for changes", f"{_duration(lt['median_seconds'])} median ({lt['count']} changes)", lt["tier"]),
            ("Change failure rate", f"{_rate(cfr['rate'])} ({cfr['failed']}/{cfr['deployments']})", cfr["tier"]),
            ("Recovery time", f"{_duration(recovery.value)} median", recovery.tier),
            ("Rework rate", f"{_rate(rw['rate'])} ({rw['rework']}/{rw['deployments']})", None),
        ]

    def __repr__(self) -> str:
        w = self._dict["window"]
        lines = [f"DORA report {w['start']} .. {w['end']} ({w['days']} days), overall tier: {self.overall_tier}"]
        for metric, value, tier in self.summary_text():
            lines.append(f"  {metric:<22} {value}" + (f"  [{tier}]" if tier else ""))
        for diag in self._dict["diagnostics"]:
            lines.append(f"  {_diagnostic_line(diag)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        w = self._dict["window"]
        rows = "".join(
            f"<tr><td>{e(m)}</td><td>{e(v)}</td><td>{e(t or '–')}</td></tr>" for m, v, t in self.summary_text()
        )
        diags = "".join(
            f"<li><b>{e(d['severity'])}</b> <code>{e(d['code'])}</code>"
            + (f" <i>{e(d['repository'])}</i>" if d.get("repository") else "")
            + f": {e(d['message'])}</li>"
            for d in self._dict["diagnostics"]
        )
        repos = ", ".join(self._dict["scope"]["repositories"])
        return (
            '<div class="dora-report">'
            f"<p><b>DORA report</b> {e(w['start'])} – {e(w['end'])} ({w['days']} days) · "
            f"{e(repos)} · overall tier: <b>{e(str(self.overall_tier))}</b></p>"
            "<table><thead><tr><th>Metric</th><th>Value</th><th>Tier</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            + (f"<details><summary>{len(self._dict['diagnostics'])} diagnostics</summary><ul>{diags}</ul></details>" if diags else "")
            + "</div>"
        )

    def plot(
        self,
        repository: str | None = None,
        *,
        metric: _PlotMetric | None = None,
        ax: Any = None,
        by: Literal["repository"] | None = None,
        figsize: tuple[float, float] | None = None,
    ) -> _Figure:
        """Weekly trends as a matplotlib Figure (needs matplotlib).

        All five metrics in a grid, or one with ``metric=`` (``"deployment_frequency"``,
        ``"lead_time"``, ``"change_failure_rate"``, ``"recovery_time"``,
        ``"rework_rate"``), drawn into ``ax=`` when given (an Axes of your own figure).
        ``repository=`` plots one repository; ``by="repository"`` one line per
        repository. The figure is built without pyplot, so a notebook cell ending in
        ``report.plot()`` shows it once; ``fig.savefig(...)`` writes it."""
        _require("matplotlib", "plot")
        if metric is not None and metric not in _PANELS:
            raise _native.ConfigError(f"metric={metric!r}: expected one of {', '.join(_PANELS)}")
        if ax is not None and metric is None:
            raise _native.ConfigError("ax= draws one metric: give metric= too")
        if by not in (None, "repository"):
            raise _native.ConfigError(f'by={by!r}: only by="repository" is supported')
        if by is not None and repository is not None:
            raise _native.ConfigError("give repository= or by=, not both")
        if repository is None:
            scopes: dict[str, Mapping[str, Any]] = {"": self._dict}
        else:
            section = self.repositories.get(repository)
            if section is None:
                raise _native.ConfigError(f"repository {repository!r} has no per-repository metrics in this report")
            scopes = {repository: section.to_dict()}
        if by is not None:
            scopes = {slug: m.to_dict() for slug, m in self.repositories.items()}
        metrics = [metric] if metric is not None else list(_PANELS)
        if ax is None:
            from matplotlib.figure import Figure

            fig: _Figure = Figure(figsize=figsize or ((7.0, 4.0) if metric else (11.0, 7.0)), layout="constrained")
            grid = fig.subplots(1, 1, squeeze=False) if metric else fig.subplots(2, 3, squeeze=False)
            axes = list(grid.flat)
            if not metric:
                axes[-1].axis("off")
        else:
            axes = [ax]
            fig = ax.figure
        for target, name in zip(axes, metrics):
            title, scale = _PANELS[name]
            for slug, scope in scopes.items():
                points = scope[name]["weekly"]
                weeks = [_time(p["week_start"]) for p in points]
                ys = [float("nan") if p["value"] is None else p["value"] * scale for p in points]
                if name == "deployment_frequency" and len(scopes) == 1:
                    target.bar(weeks, ys, width=5, label=slug or None)
                else:
                    target.plot(weeks, ys, marker="o", label=slug or None)
            target.set_title(title, fontsize=10)
            target.tick_params(axis="x", labelrotation=30, labelsize=7)
            if by is not None:
                target.legend(fontsize=7)
        if ax is None:
            w = self._dict["window"]
            fig.suptitle(
                f"DORA weekly trends {w['start'][:10]} – {w['end'][:10]}" + (f" · {repository}" if repository else "")
            )
        return fig


#: The plot panels: metric -> (title, scale of the weekly value).
_PANELS = {
    "deployment_frequency": ("Deployments per week", 1.0),
    "lead_time": ("Lead time, median (hours)", 1 / 3600),
    "change_failure_rate": ("Change failure rate (%)", 100.0),
    "recovery_time": ("Failed deployment recovery, median (hours)", 1 / 3600),
    "rework_rate": ("Rework rate (%)", 100.0),
}


__all__ = [
    "FRAME_TABLES",
    "Accounting",
    "BenchmarkReference",
    "Benchmarks",
    "ChangeFailureRate",
    "DeploymentFrequency",
    "DeploymentRecovery",
    "Diagnostic",
    "DurationStats",
    "IncidentRecovery",
    "LeadTime",
    "LeadTimeExclusions",
    "Ledger",
    "MetricBenchmark",
    "Metrics",
    "Phases",
    "RecoveryTime",
    "Report",
    "ReworkRate",
    "Scope",
    "Section",
    "SignalCounts",
    "SummaryRow",
    "WeekPoint",
    "Window",
]
