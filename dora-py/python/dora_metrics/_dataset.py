"""`Dataset`: the events behind a report, built from your frames or collected."""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import TYPE_CHECKING, Any

from . import _native
from ._native import DatasetError
from ._records import FIELDS, KEYS, TABLES, Dimensions, normalise, row_key, split_dimensions
from ._report import _require

if TYPE_CHECKING:
    import pandas as _pandas  # type: ignore[import-untyped, unused-ignore]

    from ._records import _DatasetTable


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

    Columns that are not dataset fields (``team``, ``service_tier``, ...) are
    kept as dimensions by the row's key: `to_pandas` shows them, and a
    report's frames carry them (repository columns on every table with a
    ``repository``, pull request columns on ``changes``, deployment columns on
    ``deployments``, incident columns on ``incidents``). JSON and the store
    hold the dataset schema only, without dimensions.
    """

    __slots__ = ("_native", "_dims")

    def __init__(
        self,
        commits: Any = None,
        pull_requests: Any = None,
        deployments: Any = None,
        incidents: Any = None,
        environments: Any = None,
        repositories: Any = None,
    ) -> None:
        tables = {
            "repositories": repositories,
            "commits": commits,
            "pull_requests": pull_requests,
            "environments": environments,
            "deployments": deployments,
            "incidents": incidents,
        }
        tables = {k: _collected(v) for k, v in tables.items() if v is not None}
        if tables and os.environ.get("DORA_INGEST") != "rows" and all(map(_is_frame, tables.values())):
            if self._from_arrow(tables):
                return
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
        dims = {table: split_dimensions(table, rows) for table, rows in given.items()}
        self._native = _native.Dataset.from_tables({k: json.dumps(v) for k, v in given.items()})
        self._dims: Dimensions = {table: d for table, d in dims.items() if d}

    def _from_arrow(self, tables: dict[str, Any]) -> bool:
        """Read frames through the Arrow C stream interface, column by column in Rust.
        False when a column cannot be read that way (the row-by-row path then names
        the table, row and field of any error)."""
        try:
            native, extra = _native.Dataset.from_arrow(tables)
        except (DatasetError, ImportError, TypeError, ValueError):
            return False
        dims: Dimensions = {}
        for table, columns in extra.items():
            subset = _select(tables[table], [*KEYS[table], *columns])
            by_key = split_dimensions(table, normalise(table, subset))
            if by_key:
                dims[table] = by_key
        self._native = native
        self._dims = dims
        return True

    @classmethod
    def _wrap(cls, native: _native.Dataset, dims: Dimensions | None = None) -> Dataset:
        self = cls.__new__(cls)
        self._native = native
        self._dims = dims or {}
        return self

    def _kept_dims(self, native: _native.Dataset) -> Dimensions:
        """This dataset's dimensions of the rows `native` still holds."""
        if not self._dims:
            return {}
        out: Dimensions = {}
        for table, by_key in self._dims.items():
            keys = {row_key(table, r) for r in json.loads(native.table_json(table))}
            kept = {k: v for k, v in by_key.items() if k in keys}
            if kept:
                out[table] = kept
        return out

    @property
    def dimensions(self) -> dict[str, list[str]]:
        """The extra input columns kept per table, e.g. ``{"repositories": ["team"]}``."""
        return {
            table: sorted({c for cols in by_key.values() for c in cols}) for table, by_key in self._dims.items()
        }

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

    def records(self, table: _DatasetTable) -> list[dict[str, Any]]:
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

    def filter(
        self,
        repositories: list[str] | str | None = None,
        *,
        since: str | _dt.date | None = None,
        until: str | _dt.date | None = None,
    ) -> Dataset:
        """The events of some repositories and/or the time range ``[since, until)``.

        `repositories` keeps those slugs' repository rows, commits, pull requests,
        environments and deployments, and the incidents naming one of them or
        none (an incident without repositories concerns every repository).
        `since`/`until` (datetimes, dates or RFC 3339 strings) keep each event by
        its own time: commits by ``committed_at``, pull requests by ``merged_at``
        (``created_at`` when not merged), deployments by finish (else start)
        time, incidents by ``opened_at``. Keep history before the window you will
        compute: lead time needs each change's commits and the deployment before.
        """
        if isinstance(repositories, str):
            repositories = [repositories]
        native = self._native.filter(repositories, since, until)
        return Dataset._wrap(native, self._kept_dims(native))

    def to_pandas(self, table: _DatasetTable) -> _pandas.DataFrame:
        """One table as a pandas DataFrame (needs pandas): the dataset schema's
        columns, times as ``datetime64[us, UTC]``, ``author`` as flat
        ``author_id``/``author_name``/``author_kind`` columns (what the constructor
        reads back), then the table's dimensions."""
        pd = _require("pandas", "Dataset.to_pandas")
        rows = self.records(table)
        dims = self._dims.get(table, {})
        for row in rows:
            author = row.pop("author", None) if table in ("commits", "pull_requests") else None
            if isinstance(author, dict):
                row["author_id"], row["author_name"] = author.get("id"), author.get("display_name")
                row["author_kind"] = author.get("kind")
            elif table in ("commits", "pull_requests"):
                row["author_id"] = row["author_name"] = row["author_kind"] = None
            row.update(dims.get(row_key(table, row), {}))
        columns = [c for c in FIELDS[table] if table not in ("commits", "pull_requests") or c != "author"]
        if table in ("commits", "pull_requests"):
            columns += ["author_id", "author_name", "author_kind"]
        columns += [c for c in self.dimensions.get(table, []) if c not in columns]
        frame = pd.DataFrame(rows, columns=columns)
        for col in frame.columns:
            if col.endswith("_at") and col not in self.dimensions.get(table, []):
                frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601").astype("datetime64[us, UTC]")
        return frame

    def merged(self, other: Dataset) -> Dataset:
        """A new dataset with this one's events and `other`'s (e.g. two workspaces).

        Each event is kept once by its key (commits by repository and sha, pull
        requests and deployments by repository and id, incidents by source and
        id, environments by repository and name), `other`'s copy winning, so
        ``d.merged(d) == d``."""
        dims: Dimensions = {t: dict(v) for t, v in self._dims.items()}
        for table, by_key in other._dims.items():
            for key, values in by_key.items():
                dims.setdefault(table, {}).setdefault(key, {}).update(values)
        return Dataset._wrap(self._native.merged(other._native), dims)

    def __eq__(self, other: object) -> bool:
        """Equal when both hold the same events (and dimensions), in any row order."""
        return isinstance(other, Dataset) and self._native == other._native and self._dims == other._dims

    def __reduce__(self) -> tuple[Any, tuple[_native.Dataset, Dimensions]]:
        return (Dataset._wrap, (self._native, self._dims))

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        """Total number of events (all tables)."""
        return sum(self.counts().values())

    def __repr__(self) -> str:
        return repr(self._native)


def _module(data: Any) -> str:
    return type(data).__module__.split(".")[0]


def _collected(data: Any) -> Any:
    """A polars LazyFrame collected; anything else as it is."""
    if _module(data) == "polars" and type(data).__name__ == "LazyFrame":
        return data.collect()
    return data


def _is_frame(data: Any) -> bool:
    """A pandas, polars or pyarrow table that exports an Arrow C stream."""
    return _module(data) in ("pandas", "polars", "pyarrow") and hasattr(data, "__arrow_c_stream__")


def _select(data: Any, columns: list[str]) -> Any:
    """The given columns of a pandas, polars or pyarrow table (those it has)."""
    names = list(data.column_names) if _module(data) == "pyarrow" else list(data.columns)
    keep = [c for c in columns if c in names]
    return data[keep] if _module(data) == "pandas" else data.select(keep)


__all__ = ["Dataset", "TABLES"]
