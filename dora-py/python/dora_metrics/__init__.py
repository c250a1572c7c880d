"""DORA software-delivery metrics from Bitbucket Cloud and incident tools.

    import dora_metrics as dm

    data = dm.collect(dm.Bitbucket("acme", ["payments-api"]), dm.PagerDuty(), days=90)
    report = dm.compute(data, dm.Config(days=90))
    report.lead_time.median_seconds
    report.to_pandas("changes")          # one row per PR, with its four phases

    store = dm.Store("acme.db")          # or keep the events in SQLite, synced incrementally
    store.sync(dm.Bitbucket("acme"), dm.PagerDuty(), days=90)
    report = dm.compute(store.load())

A thin layer over the Rust crates `dora-core`, `dora-bitbucket`,
`dora-incidents` and `dora-store`: the metrics, sources, store and errors are
Rust's; frames arrive as Arrow. Every error is a `DoraError`.
"""

from __future__ import annotations

import datetime as _dt
import json as _json

from collections.abc import Mapping
from importlib import resources as _resources
from typing import Any

from . import _native
from ._dataset import Dataset
from ._native import (
    AuthError,
    Bitbucket,
    Config,
    ConfigError,
    DatasetError,
    DoraError,
    IncidentIo,
    Jsm,
    NotFoundError,
    Opsgenie,
    PagerDuty,
    RateLimitError,
    SourceError,
    StoreError,
)
from ._report import (
    FRAME_TABLES,
    Accounting,
    Benchmarks,
    ChangeFailureRate,
    DeploymentFrequency,
    Diagnostic,
    LeadTime,
    Metrics,
    RecoveryTime,
    Report,
    ReworkRate,
    Scope,
    Section,
    SummaryRow,
    WeekPoint,
    Window,
)
from ._store import Store

__version__: str = _native.__version__

def collect(
    source: Bitbucket | Dataset,
    incidents: PagerDuty | Opsgenie | IncidentIo | Jsm | Dataset | None = None,
    *,
    days: int = 90,
    until: str | _dt.date | None = None,
) -> Dataset:
    """Collect `days` days ending at `until` (default now) from `source`, and
    incidents from `incidents`, into a `Dataset`.

    `source` is a `Bitbucket` (or a `Dataset`, served from memory); `incidents`
    a `PagerDuty`, `Opsgenie`, `IncidentIo`, `Jsm` (or a `Dataset`). Synchronous: the
    Rust sources run on a private tokio runtime with the GIL released, so other
    Python threads keep running; Ctrl-C interrupts it. Raises `AuthError`,
    `RateLimitError`, `NotFoundError`, `SourceError` or `ConfigError`.
    """
    native_source: Any = source._native if isinstance(source, Dataset) else source
    native_incidents: Any = incidents._native if isinstance(incidents, Dataset) else incidents
    return Dataset._wrap(_native.collect(native_source, native_incidents, days=days, until=until))


def inventory(
    source: Bitbucket,
    incidents: PagerDuty | Opsgenie | IncidentIo | Jsm | Dataset | None = None,
    *,
    days: int = 90,
    until: str | _dt.date | None = None,
    config: Config | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Audit what a Bitbucket workspace (and an incident tool) exposes, as
    `dora inventory --format json` does: per repository, environments and their
    types, deployments in the window by environment and status, pipelines on
    the production branch without production deployments, the branching model,
    merge strategies, bots and endpoints that answered 403 (with the scope),
    and for `incidents` the services, severities and how many incidents the
    severity filter of `config` keeps. `findings` lists each problem with a
    stable `code`, a `severity` and a one-line `fix`.

    Read-only, at most 8 requests per repository, the GIL released. Raises
    `AuthError`, `RateLimitError`, `NotFoundError`, `SourceError` or
    `ConfigError`; a 403 is a finding (`missing_scope`), not an error.
    """
    if isinstance(config, Mapping):
        config = Config(**config)
    native_incidents: Any = incidents._native if isinstance(incidents, Dataset) else incidents
    text = _native.inventory(source, native_incidents, days=days, until=until, config=config)
    result: dict[str, Any] = _json.loads(text)
    return result


def compute(
    dataset: Dataset,
    config: Config | Mapping[str, Any] | None = None,
    *,
    now: str | _dt.datetime | None = None,
) -> Report:
    """Compute the DORA report of `dataset` under `config` (`Config()` when None;
    a dict is read as `Config(**dict)`). `now` stands in for a missing
    `config.until` (default: the start of the current UTC day, so the window is
    the same all day and holds whole days). Runs with the GIL released."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a dora_metrics.Dataset, got {type(dataset).__name__}")
    if isinstance(config, Mapping):
        config = Config(**config)
    return Report(_native.compute(dataset._native, config, now), dataset._dims)


def sample_dataset() -> Dataset:
    """The bundled sample: two repositories over about four months, with a
    failed deployment, a revert, a hotfix, a rollback and PagerDuty-style
    incidents. Compute it with ``dm.compute(data, dm.Config(until=SAMPLE_UNTIL))``."""
    text = _resources.files(__package__).joinpath("data", "sample_dataset.json").read_text("utf-8")
    return Dataset.from_json(text)


#: The end of the sample dataset's natural 90-day window.
SAMPLE_UNTIL = "2026-11-01T00:00:00Z"

__all__ = [
    "SAMPLE_UNTIL",
    "FRAME_TABLES",
    "AuthError",
    "Bitbucket",
    "Config",
    "ConfigError",
    "Dataset",
    "DatasetError",
    "DoraError",
    "IncidentIo",
    "Jsm",
    "NotFoundError",
    "Opsgenie",
    "PagerDuty",
    "RateLimitError",
    "Report",
    "Section",
    "SummaryRow",
    "Accounting",
    "Benchmarks",
    "ChangeFailureRate",
    "DeploymentFrequency",
    "Diagnostic",
    "LeadTime",
    "Metrics",
    "RecoveryTime",
    "ReworkRate",
    "Scope",
    "WeekPoint",
    "Window",
    "SourceError",
    "Store",
    "StoreError",
    "collect",
    "compute",
    "inventory",
    "sample_dataset",
    "__version__",
]


