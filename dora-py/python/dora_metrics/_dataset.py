"""`Dataset`: the events behind a report, built from your frames or collected."""

from __future__ import annotations

import json
import os
from typing import Any

from . import _native
from ._records import TABLES, normalise



class Dataset:
    """Everything the metrics need for one scope.

    Build one from your own tables — pandas or polars DataFrames, pyarrow
    tables or lists of dicts — with one argument per table::

        dm.Dataset(commits=commits_df, pull_requests=prs_df, deployments=deploys_df)

    Columns follow the dataset schema (see the README): times may be
    datetimes (naive ones are read as UTC) or RFC 3339 strings, missing values
    (None, NaN, NaT) mean "unknown", ``author`` may be a name or flat
    ``author_id``/``author_name``/``author_kind`` columns, and list fields
    (``parents``, ``commits``, ``repositories``) may be comma-separated strings.
    A deployment without ``environment_kind`` takes the kind of its environment
    from ``environments``. Any row the core cannot read raises `DatasetError`
    naming the table, row and field.
    """

    __slots__ = ("_native",)

    def __init__(
        self,
        commits: Any = None,
        pull_requests: Any = None,
        deployments: Any = None,
        incidents: Any = None,
        environments: Any = None,
        repositories: Any = None,
    ) -> None:
        env_rows = normalise("environments", environments)
        kinds = {
            (str(e.get("repository")), str(e.get("name"))): str(e["kind"])
            for e in env_rows
            if "kind" in e
        }
        given = {
            "repositories": normalise("repositories", repositories),
            "commits": normalise("commits", commits),
            "pull_requests": normalise("pull_requests", pull_requests),
            "environments": env_rows,
            "deployments": normalise("deployments", deployments, kinds),
            "incidents": normalise("incidents", incidents),
        }
        self._native = _native.Dataset.from_tables({k: json.dumps(v) for k, v in given.items()})

    @classmethod
    def _wrap(cls, native: _native.Dataset) -> Dataset:
        self = cls.__new__(cls)
        self._native = native
        return self

    @classmethod
    def from_json(cls, text: str | bytes) -> Dataset:
        """Read the dataset JSON written by `to_json` / `save` (or by the `dora` command)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return cls._wrap(_native.Dataset.from_json(text))

    def to_json(self, pretty: bool = False) -> str:
        """The dataset as JSON; `from_json` reads it back unchanged."""
        return self._native.to_json(pretty)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Dataset:
        """Read a dataset JSON file."""
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    def save(self, path: str | os.PathLike[str], *, pretty: bool = False) -> None:
        """Write the dataset as JSON to `path`."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json(pretty))

    def records(self, table: str) -> list[dict[str, Any]]:
        """One table (`commits`, `pull_requests`, ...) as a list of dicts in the dataset schema."""
        result: list[dict[str, Any]] = json.loads(self._native.table_json(table))
        return result

    def counts(self) -> dict[str, int]:
        """Number of rows per table."""
        return dict(self._native.counts())

    @property
    def repositories(self) -> list[str]:
        """Repository slugs in scope (declared ones plus any an event names)."""
        return self._native.repository_slugs()

    def merged(self, other: Dataset) -> Dataset:
        """A new dataset with this one's events and `other`'s (e.g. two workspaces).

        Each event is kept once by its key (commits by repository and sha, pull
        requests and deployments by repository and id, incidents by source and
        id, environments by repository and name), `other`'s copy winning, so
        ``d.merged(d) == d``."""
        return Dataset._wrap(self._native.merged(other._native))

    def __eq__(self, other: object) -> bool:
        """Equal when both hold the same events, in any row order."""
        return isinstance(other, Dataset) and self._native == other._native

    def __reduce__(self) -> tuple[Any, tuple[_native.Dataset]]:
        return (Dataset._wrap, (self._native,))

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        """Total number of events (all tables)."""
        return sum(self.counts().values())

    def __repr__(self) -> str:
        return repr(self._native)


__all__ = ["Dataset", "TABLES"]
