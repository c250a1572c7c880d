from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL, small_records


def _flat(table: str) -> list[dict[str, object]]:
    """small_records() with flat author columns, as a data scientist's frame would have."""
    rows = []
    for r in small_records()[table]:
        r = dict(r)
        if isinstance(r.get("author"), dict):
            author = r.pop("author")
            r["author_id"], r["author_name"] = author["id"], author["display_name"]
        for list_field in ("parents", "commits"):
            if isinstance(r.get(list_field), list):
                r[list_field] = ",".join(r[list_field])
        rows.append(r)
    return rows


def test_from_lists_of_dicts(small: dm.Dataset) -> None:
    assert small.counts() == {
        "commits": 3,
        "deployments": 4,
        "environments": 0,
        "incidents": 1,
        "pull_requests": 1,
        "repositories": 1,
    }
    assert len(small) == 10
    assert small.repositories == ["api"]
    assert small.records("pull_requests")[0]["merged_at"] == "2026-03-03T12:00:00Z"
    assert "Dataset(" in repr(small)


def test_json_round_trip(small: dm.Dataset, sample: dm.Dataset, tmp_path: Path) -> None:
    for data in (small, sample):
        assert dm.Dataset.from_json(data.to_json()) == data
        assert dm.Dataset.from_json(data.to_json(pretty=True).encode()) == data
        path = tmp_path / "data.json"
        data.save(path)
        assert dm.Dataset.load(path) == data
        # A second round trip is byte-identical: nothing is lost or reinterpreted.
        assert dm.Dataset.load(path).to_json() == data.to_json()
    assert small != sample
    assert small != "not a dataset"


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_from_frames_equals_from_dicts(kind: str, small: dm.Dataset) -> None:
    lib = pytest.importorskip(kind)
    tables = {name: _flat(name) for name in small_records()}
    if kind == "pandas":
        frames = {}
        for name, rows in tables.items():
            df = lib.DataFrame(rows)
            for col in df.columns:
                if col.endswith("_at"):  # real frames hold datetimes, not strings
                    df[col] = lib.to_datetime(df[col], utc=True)
            frames[name] = df
    elif kind == "polars":
        frames = {name: lib.DataFrame(rows) for name, rows in tables.items()}
    else:
        frames = {name: lib.Table.from_pylist(rows) for name, rows in tables.items()}
    assert dm.Dataset(**frames) == small
    report = dm.compute(dm.Dataset(**frames), dm.Config(until=SMALL_UNTIL))
    assert report.lead_time.median_seconds == 30 * 3600


def test_pandas_missing_values_and_naive_times() -> None:
    pd = pytest.importorskip("pandas")
    deployments = pd.DataFrame(
        {
            "repository": ["api", "api"],
            "id": [7, 8],  # integer ids become strings
            "environment": ["production", "staging"],
            "commit": ["a1", "a1"],
            "started_at": [pd.NaT, pd.NaT],
            "finished_at": [dt.datetime(2026, 3, 1, 10), dt.datetime(2026, 3, 1, 9)],  # naive: UTC
            "status": ["SUCCEEDED", "failed"],
        }
    )
    envs = [
        {"repository": "api", "name": "production", "kind": "Production"},
        {"repository": "api", "name": "staging", "kind": "staging"},
    ]
    incidents = pd.DataFrame(
        {
            "id": ["X1"],
            "source": ["PagerDuty"],
            "severity": [2],
            "opened_at": [pd.Timestamp("2026-03-01T12:00:00+02:00")],
            "resolved_at": [float("nan")],
        }
    )
    data = dm.Dataset(deployments=deployments, environments=envs, incidents=incidents)
    d = data.records("deployments")
    assert [r["id"] for r in d] == ["7", "8"]
    assert [r["environment_kind"] for r in d] == ["production", "staging"]
    assert d[0]["finished_at"] == "2026-03-01T10:00:00Z"
    assert d[0]["started_at"] is None
    i = data.records("incidents")[0]
    assert (i["severity"], i["source"], i["status"], i["resolved_at"]) == ("P2", "pagerduty", "open", None)
    assert i["opened_at"] == "2026-03-01T10:00:00Z"


def test_merged(small: dm.Dataset) -> None:
    other = dm.Dataset(repositories=[{"slug": "web"}], commits=[])
    both = small.merged(other)
    assert both.repositories == ["api", "web"]
    assert both.counts()["commits"] == 3
    assert small.repositories == ["api"]  # unchanged


@pytest.mark.parametrize(
    ("tables", "fragment"),
    [
        ({"commits": [{"repository": "api", "authored_at": "2026-03-01T00:00:00Z"}]}, r"commits\[0\]: missing field `sha`"),
        (
            {"deployments": [{"repository": "api", "id": "1", "environment": "prod", "commit": "a",
                              "status": "succeeded"}]},
            r"deployments\[0\]: missing field `environment_kind`",
        ),
        (
            {"pull_requests": [dict(small_records()["pull_requests"][0], state="approved")]},
            r"pull_requests\[0\]: state: unknown variant `approved`",
        ),
        (
            {"commits": [dict(small_records()["commits"][0]), dict(small_records()["commits"][1], authored_at="March 3rd")]},
            r"commits\[1\]: .*premature end|commits\[1\]: .*input contains invalid characters|commits\[1\]",
        ),
        ({"incidents": "not a table"}, "incidents: expected a pandas/polars DataFrame or a list of dicts"),
        ({"commits": [1, 2]}, r"commits\[0\]: expected a dict"),
    ],
)
def test_malformed_rows_raise_dataset_error(tables: dict[str, object], fragment: str) -> None:
    with pytest.raises(dm.DatasetError, match=fragment) as info:
        dm.Dataset(**tables)  # type: ignore[arg-type]
    assert isinstance(info.value, dm.DoraError)


def test_malformed_pandas_frame_names_the_row() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "repository": ["api", "api"],
            "sha": ["a1", None],  # second row lacks its sha
            "authored_at": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
        }
    )
    with pytest.raises(dm.DatasetError, match=r"commits\[1\]: missing field `sha`"):
        dm.Dataset(commits=frame)


def test_malformed_json() -> None:
    with pytest.raises(dm.DatasetError, match="invalid dataset"):
        dm.Dataset.from_json('{"commits": [{"sha": 1}]}')
    with pytest.raises(dm.DatasetError):
        dm.Dataset.from_json("not json")


def test_unknown_table_name(small: dm.Dataset) -> None:
    with pytest.raises(dm.ConfigError, match="unknown table"):
        small.records("builds")
    with pytest.raises(TypeError):
        dm.Dataset(builds=[])  # type: ignore[call-arg]


def test_durations_are_rejected_with_a_clear_message() -> None:
    with pytest.raises(dm.DatasetError, match=r"commits\[0\]: durations are not accepted"):
        dm.Dataset(commits=[{"repository": "a", "sha": "x", "authored_at": dt.timedelta(hours=1)}])


def test_sample_is_realistic(sample: dm.Dataset) -> None:
    counts = sample.counts()
    assert counts["pull_requests"] > 100 and counts["deployments"] > 100 and counts["incidents"] >= 5
    assert sample.repositories == ["payments-api", "web-app"]
    json.loads(sample.to_json())
