"""Turning user tables (pandas, polars, pyarrow, lists of dicts) into dataset records.

Each table becomes a list of plain JSON-able dicts in the dataset schema, with
the conveniences a data scientist expects: flat ``author``/``author_id``/
``author_name``/``author_kind`` columns, comma-separated lists, naive datetimes
read as UTC, and NaN/NaT/None meaning "unknown". The Rust side validates every
row and names the table, row and field of any error.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ._native import DatasetError

TABLES = ("repositories", "commits", "pull_requests", "environments", "deployments", "incidents")

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

    #: The name of a dataset table (`Dataset.records`, `Dataset.to_pandas`), for type checkers.
    _DatasetTable: TypeAlias = Literal[
        "repositories", "commits", "pull_requests", "environments", "deployments", "incidents"
    ]

_LIST_FIELDS = {
    "commits": ("parents",),
    "pull_requests": ("commits",),
    "incidents": ("repositories",),
}
_LOWERCASE_FIELDS = {
    "pull_requests": ("state",),
    "environments": ("kind",),
    "deployments": ("status", "environment_kind"),
    "incidents": ("status",),
}
_STRING_IDS = {"deployments": ("id",), "incidents": ("id",)}

#: The fields of each table in the dataset schema; any other input column is a
#: dimension (e.g. ``team``), kept beside the dataset by the row's key.
FIELDS = {
    "repositories": ("slug", "main_branch", "url", "development_branch", "hotfix_prefix", "release_prefix"),
    "commits": ("repository", "sha", "parents", "authored_at", "committed_at", "author", "message"),
    "pull_requests": (
        "repository", "id", "title", "author", "source_branch", "destination_branch", "state", "created_at",
        "first_review_at", "merged_at", "merge_commit", "commits", "url",
    ),
    "environments": ("repository", "name", "kind"),
    "deployments": (
        "repository", "id", "environment", "environment_kind", "commit", "started_at", "finished_at", "status",
        "release", "url",
    ),
    "incidents": (
        "id", "source", "title", "service", "severity", "raw_severity", "opened_at", "resolved_at", "status",
        "repositories", "url",
    ),
}

#: The fields that identify a row of each table.
KEYS = {
    "repositories": ("slug",),
    "commits": ("repository", "sha"),
    "pull_requests": ("repository", "id"),
    "environments": ("repository", "name"),
    "deployments": ("repository", "id"),
    "incidents": ("source", "id"),
}

#: Dimensions by table, then by row key: ``{"pull_requests": {("api", 1): {"team": "core"}}}``.
Dimensions = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def row_key(table: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The key of a row in the dataset schema."""
    return tuple(row.get(k) for k in KEYS[table])


def split_dimensions(table: str, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Take the columns that are not dataset fields out of `rows` (in place), by row key."""
    known = set(FIELDS[table])
    dims: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        extra = {k: row.pop(k) for k in [k for k in row if k not in known]}
        if extra:
            dims.setdefault(row_key(table, row), {}).update(extra)
    return dims
_UTC = _dt.timezone.utc


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    # pandas.NA / pandas.NaT / numpy.datetime64("NaT") without importing them.
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    if name == "datetime64":
        return str(value) == "NaT"
    return False


def _timestamp(value: _dt.date) -> str:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC).isoformat()
    return _dt.datetime(value.year, value.month, value.day, tzinfo=_UTC).isoformat()


def _plain(value: Any) -> Any:
    """A JSON-able Python value; `None` for missing values."""
    if _is_missing(value):
        return None
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, _dt.date):
        return _timestamp(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if not _is_missing(v)}
    name = type(value).__name__
    if name == "datetime64":
        # numpy datetime64: microseconds give a datetime.datetime (naive, UTC).
        return _timestamp(value.astype("datetime64[us]").item())
    if name == "Timedelta" or isinstance(value, _dt.timedelta):
        raise TypeError("durations are not accepted: give times as datetimes")
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        return _plain(value.item())  # numpy scalar
    if hasattr(value, "tolist"):
        return _plain(value.tolist())  # numpy array, polars/pyarrow list value
    if isinstance(value, Iterable):
        return [_plain(v) for v in value]
    return value


def _rows(table: str, data: Any) -> list[Mapping[str, Any]]:
    """The rows of a pandas/polars/pyarrow frame or a sequence of mappings."""
    if data is None:
        return []
    module = type(data).__module__.split(".")[0]
    if module == "polars" and type(data).__name__ == "LazyFrame":
        data = data.collect()
    if module == "pandas" and hasattr(data, "to_dict"):
        rows = data.to_dict("records")
    elif module == "polars" and hasattr(data, "to_dicts"):
        rows = data.to_dicts()
    elif module == "pyarrow" and hasattr(data, "to_pylist"):
        rows = data.to_pylist()
    elif isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise DatasetError(
            f"{table}: expected a pandas/polars DataFrame or a list of dicts, got {type(data).__name__}"
        )
    else:
        rows = list(data)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DatasetError(f"{table}[{i}]: expected a dict of fields, got {type(row).__name__}")
    return rows  # type: ignore[no-any-return]


_TIME_FIELDS = {
    "commits": ("authored_at", "committed_at"),
    "pull_requests": ("created_at", "first_review_at", "merged_at"),
    "deployments": ("started_at", "finished_at"),
    "incidents": ("opened_at", "resolved_at"),
}


def _date_only(value: Any) -> Any:
    """A ``YYYY-MM-DD`` string as midnight UTC; anything else as it is."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return _timestamp(_dt.date.fromisoformat(value.strip()))
        except ValueError:
            return value
    return value


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return value


def _actor(row: dict[str, Any]) -> None:
    """Fold `author` (a string or dict) and flat `author_*` columns into one actor."""
    author = row.pop("author", None)
    flat = {
        "id": row.pop("author_id", None),
        "display_name": row.pop("author_name", None),
        "kind": row.pop("author_kind", None),
    }
    if isinstance(author, str):
        author = {"id": author, "display_name": author}
    if author is None and flat["id"] is None and flat["display_name"] is None:
        return
    actor = dict(author or {})
    for key, value in flat.items():
        if value is not None:
            actor[key] = value
    actor.setdefault("id", actor.get("display_name"))
    actor.setdefault("display_name", actor.get("id"))
    if isinstance(actor.get("kind"), str):
        actor["kind"] = actor["kind"].lower()
    row["author"] = actor


def _severity(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # pandas' integers with missing values
    if isinstance(value, int) and 1 <= value <= 5:
        return f"P{value}"
    if isinstance(value, str):
        return value.strip().upper()
    return value


def normalise(table: str, data: Any, environments: Mapping[tuple[str, str], str] | None = None) -> list[dict[str, Any]]:
    """Records of `table` in the dataset schema (see the module docs)."""
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(_rows(table, data)):
        try:
            row: dict[str, Any] = {
                str(k): _plain(v) for k, v in raw.items() if not _is_missing(v)
            }
        except TypeError as e:
            raise DatasetError(f"{table}[{i}]: {e}") from None
        row = {k: v for k, v in row.items() if v is not None}
        for field in _TIME_FIELDS.get(table, ()):
            if field in row:
                row[field] = _date_only(row[field])
        for field in _LIST_FIELDS.get(table, ()):
            if field in row:
                row[field] = _split(row[field])
        for field in _LOWERCASE_FIELDS.get(table, ()):
            if isinstance(row.get(field), str):
                row[field] = row[field].strip().lower()
        for field in _STRING_IDS.get(table, ()):
            if isinstance(row.get(field), (int, float)) and not isinstance(row.get(field), bool):
                value = row[field]
                row[field] = str(int(value)) if float(value).is_integer() else str(value)
        if table in ("commits", "pull_requests"):
            _actor(row)
        if table == "commits" and "committed_at" not in row and "authored_at" in row:
            row["committed_at"] = row["authored_at"]
        if table == "pull_requests" and isinstance(row.get("id"), float) and row["id"].is_integer():
            row["id"] = int(row["id"])
        if table == "deployments" and "environment_kind" not in row and environments:
            kind = environments.get((str(row.get("repository")), str(row.get("environment"))))
            if kind is not None:
                row["environment_kind"] = kind
        if table == "pull_requests" and "state" not in row:
            row["state"] = "merged" if "merged_at" in row else "open"
        if table == "incidents":
            if "status" not in row:
                row["status"] = "resolved" if "resolved_at" in row else "open"
            if "severity" in row:
                given = row["severity"]
                row["severity"] = _severity(given)
                whole = isinstance(given, float) and given.is_integer()
                row.setdefault("raw_severity", str(int(given)) if whole else str(raw.get("severity")))
            if isinstance(row.get("source"), str):
                row["source"] = row["source"].lower()
        out.append(row)
    return out
