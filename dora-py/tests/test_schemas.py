"""Stable schemas: nullability fixed per column, join keys, the column dictionary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL

TABLES = ["changes", "deployments", "incidents", "weekly", "metrics"]
README = Path(__file__).resolve().parents[1] / "README.md"


def _reports(sample: dm.Dataset, small: dm.Dataset) -> list[dm.Report]:
    return [
        dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL)),
        dm.compute(small, dm.Config(days=30, until=SMALL_UNTIL)),  # other nulls: one repository, few weeks
        dm.compute(dm.Dataset(), dm.Config(until="2026-01-01")),  # nothing at all
    ]


@pytest.mark.parametrize("table", TABLES)
def test_schemas_do_not_depend_on_the_data(sample: dm.Dataset, small: dm.Dataset, table: str) -> None:
    pa = pytest.importorskip("pyarrow")
    tables = [r.to_arrow(table) for r in _reports(sample, small)]
    assert all(t.schema == tables[0].schema for t in tables)
    assert all(t.schema.metadata == tables[0].schema.metadata for t in tables)
    both = pa.concat_tables(tables)
    assert both.num_rows == sum(t.num_rows for t in tables)


def test_weekly_tables_of_two_reports_concatenate(sample: dm.Dataset, small: dm.Dataset) -> None:
    pa = pytest.importorskip("pyarrow")
    a, b, _ = _reports(sample, small)
    # The small report's weekly medians are mostly null, the sample's mostly not.
    assert b.to_arrow("weekly").column("lead_time_median_seconds").null_count > 0
    weekly = pa.concat_tables([a.to_arrow("weekly"), b.to_arrow("weekly")])
    assert weekly.num_rows == a.to_arrow("weekly").num_rows + b.to_arrow("weekly").num_rows
    long = pa.concat_tables([a.to_arrow("weekly", by="repository"), b.to_arrow("weekly", by="repository")])
    assert set(long.column("repository").to_pylist()) == {"payments-api", "web-app", "api"}


def test_nullability_is_the_dictionarys(sample_report: dm.Report) -> None:
    pytest.importorskip("pyarrow")
    for table in TABLES:
        schema = sample_report.to_arrow(table).schema
        for field in schema:
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            assert set(meta) == {"meaning", "unit", "nulls"}, (table, field.name)
            assert meta["meaning"], (table, field.name)
            assert field.nullable == (meta["nulls"] != "never"), (table, field.name)
            if field.name.endswith("_seconds"):
                assert meta["unit"] == "seconds", field.name
            if not field.nullable:
                assert sample_report.to_arrow(table).column(field.name).null_count == 0


def test_incidents_join_deployments_on_their_keys(sample_report: dm.Report) -> None:
    pd = pytest.importorskip("pandas")
    incidents = sample_report.to_pandas("incidents")
    deployments = sample_report.to_pandas("deployments")
    attributed = incidents[incidents["deployment"].notna()]
    assert len(attributed) > 0
    joined = attributed.merge(deployments, on=["repository", "deployment_id"], suffixes=("", "_deployment"))
    assert len(joined) == len(attributed)  # every attributed incident finds its deployment
    assert (joined["repository"] + "/" + joined["deployment_id"]).tolist() == joined["deployment"].tolist()
    assert joined["incident"].all()  # and that deployment carries the incident signal
    unattributed = incidents[incidents["deployment"].isna()]
    assert unattributed["repository"].isna().all() and unattributed["deployment_id"].isna().all()
    assert (deployments["deployment_id"] == deployments["id"]).all()
    assert pd.api.types.is_string_dtype(incidents["deployment_id"])


def test_changes_join_deployments_on_their_keys(sample_report: dm.Report) -> None:
    pytest.importorskip("pandas")
    changes = sample_report.to_pandas("changes")
    deployments = sample_report.to_pandas("deployments")
    joined = changes.merge(deployments, on=["repository", "deployment_id"], suffixes=("", "_deployment"))
    assert len(joined) == len(changes)
    assert (joined["deployed_at"] == joined["deployed_at_deployment"]).all()


def test_column_dictionary_in_the_readme(sample_report: dm.Report) -> None:
    """The README's column dictionary is the Arrow metadata, word for word."""
    pytest.importorskip("pyarrow")
    text = README.read_text("utf-8")
    for table in TABLES:
        section = text.split(f"#### `{table}`", 1)[1].split("####", 1)[0]
        rows = {m.group(1): m.groups()[1:] for m in re.finditer(r"^\| `(\w+)` \| (.*?) \| (.*?) \| (.*?) \|$",
                                                                  section, re.M)}
        schema = sample_report.to_arrow(table, by="repository" if table == "weekly" else None).schema
        assert list(rows) == schema.names, table
        for field in schema:
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            assert rows[field.name] == (meta["meaning"], meta["unit"] or "", meta["nulls"]), (table, field.name)
