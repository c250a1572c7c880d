"""`Store`: the event store (the Rust crate `dora-store`): a SQLite file or a PostgreSQL database."""

from __future__ import annotations

import datetime as _dt
import os
from types import TracebackType

from . import _native
from ._dataset import Dataset
from ._native import Bitbucket, IncidentIo, Jsm, Opsgenie, PagerDuty
from ._report import Report


class Store:
    """An event store: a SQLite file (or a PostgreSQL database) holding
    normalised events, per-source sync cursors and stored reports, the same
    database the ``dora sync`` and ``dora report --store`` commands use::

        store = dm.Store("acme.db")
        store.sync(dm.Bitbucket("acme", ["payments-api"]), dm.PagerDuty(), days=90)
        report = dm.compute(store.load(), dm.Config(days=90))
        store.save_report(report)          # rows for dashboards: v_changes, v_deployments, ...

    ``path`` may be a ``postgres://user@host:port/db`` (or ``postgresql://``)
    URL: the store then lives in PostgreSQL, password from the URL or the
    ``PGPASSWORD`` environment variable (never shown: `path` and ``repr()``
    redact it), and several processes syncing it split the repositories.
    ``path`` None or ``":memory:"`` opens an in-memory store. Opening creates
    the file if needed and migrates its schema; a file that is not a dora
    store raises `StoreError` naming it. Every write is one transaction, and
    two processes may share a file (writes wait for each other). Close it with
    `close()` or a ``with`` block; it also closes when garbage-collected.
    """

    __slots__ = ("_native",)

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._native = _native.Store(None if path is None else os.fspath(path))

    @property
    def path(self) -> str:
        """The database file (as given), ``":memory:"``, or the URL with its
        password replaced by ``***``."""
        return self._native.path

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgres"``."""
        return self._native.backend

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._native.closed

    def sync(
        self,
        source: Bitbucket,
        incidents: PagerDuty | Opsgenie | IncidentIo | Jsm | None = None,
        *,
        days: int = 90,
        until: str | _dt.date | None = None,
    ) -> dict[str, int]:
        """Sync `days` days ending at `until` (default now) from `source` (a
        `Bitbucket`) and `incidents` into the store, resuming from the cursors
        of the previous sync; each repository is stored in one transaction, so
        an interrupted sync keeps the repositories already done.

        Incidents are re-read from the previous sync's end minus 24 hours (and
        back to the oldest unresolved one), as ``dora sync`` does. Runs like
        `collect`: on a private runtime with the GIL released, Ctrl-C
        interrupts. Returns ``{"scopes", "requests", "events", "incidents"}``:
        repositories synced, Bitbucket requests made, delivery events stored,
        incidents stored. Raises what `collect` raises, or `StoreError`.
        """
        if isinstance(source, Dataset) or isinstance(incidents, Dataset):
            raise TypeError("Store.sync reads from Bitbucket and an incident tool; store a Dataset with Store.save")
        return dict(self._native.sync(source, incidents, days=days, until=until))

    def load(self) -> Dataset:
        """Every stored event, as a `Dataset` (tables in key order)."""
        return Dataset._wrap(self._native.load())

    def save(self, dataset: Dataset) -> None:
        """Insert or update the events of `dataset` (matched by their keys:
        saving twice stores them once), in one transaction."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a dora_metrics.Dataset, got {type(dataset).__name__}")
        self._native.save(dataset._native)

    def counts(self) -> dict[str, int]:
        """Number of stored rows per event table."""
        return dict(self._native.counts())

    def save_report(self, report: Report) -> int:
        """Store `report` and the rows behind it; the views ``v_changes``,
        ``v_deployments`` and ``v_incidents`` show the latest stored report's
        rows to SQL and BI tools. Returns the run id."""
        if not isinstance(report, Report):
            raise TypeError(f"report must be a dora_metrics.Report, got {type(report).__name__}")
        return self._native.save_report(report._native)

    def close(self) -> None:
        """Close the database (idempotent); later calls raise `StoreError`."""
        self._native.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"Store({self.path!r}{state})"


__all__ = ["Store"]
