"""Values that travel: pickling (through real worker processes), equality, copies, Config as data."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import dora_metrics as dm
from conftest import SMALL_UNTIL, small_records


def _what_if(args: tuple[dm.Dataset, dm.Config]) -> dm.Report:
    """Runs in a worker process: the dataset and config arrive pickled, the report leaves pickled."""
    data, config = args
    return dm.compute(data, config)


def test_reports_come_back_from_a_process_pool(sample: dm.Dataset) -> None:
    base = dm.Config(until=dm.SAMPLE_UNTIL)
    configs = [base, base.replace(severities=["P1", "P2", "P3"]), base.replace(rerun_excuse_minutes=180)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = list(pool.map(_what_if, [(sample, c) for c in configs]))
    local = [dm.compute(sample, c) for c in configs]
    assert remote == local
    assert [r.config for r in remote] == configs
    assert remote[1].change_failure_rate.rate != remote[0].change_failure_rate.rate


def test_pickle_round_trips(sample: dm.Dataset, sample_report: dm.Report) -> None:
    config = dm.Config(days=30, until="2026-10-01", severities=["P1"], industry="technology")
    for value in (sample, sample_report, config):
        again = pickle.loads(pickle.dumps(value))
        assert again == value and again is not value
        assert type(again) is type(value)
    again = pickle.loads(pickle.dumps(sample_report))
    assert again.to_dict() == sample_report.to_dict()
    assert again.to_pandas("changes").equals(sample_report.to_pandas("changes"))


def test_sections_copy_and_pickle(sample_report: dm.Report) -> None:
    lt = sample_report.lead_time
    for again in (copy.deepcopy(lt), copy.copy(lt), pickle.loads(pickle.dumps(lt))):
        assert again == lt and again.to_dict() == lt.to_dict()
        assert again.phases.coding.median_seconds == lt.phases.coding.median_seconds
    assert copy.deepcopy(sample_report.diagnostics) == sample_report.diagnostics
    assert copy.deepcopy(sample_report) == sample_report


def test_report_equality_is_by_value(sample: dm.Dataset) -> None:
    a = dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL))
    b = dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL))
    assert a == b and a is not b
    assert a != dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL, days=60))
    # Same numbers, other config: not the same report value.
    assert a != dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL, bot_name_patterns=["x-nobody"]))
    assert a != "a report"
    # Read from JSON it has no config, so it equals another JSON copy, not the computed one.
    assert dm.Report.from_json(a.to_json()) == dm.Report.from_json(a.to_json())
    assert dm.Report.from_json(a.to_json()).config is None


def test_report_carries_the_config_it_used(small: dm.Dataset) -> None:
    config = dm.Config(days=30, until=SMALL_UNTIL, severities=["P1", "P3"])
    report = dm.compute(small, config)
    assert report.config == config
    # Without `until`, the report records the time it used, so the config recomputes it exactly.
    floating = dm.compute(small, dm.Config(days=30), now=SMALL_UNTIL)
    assert floating.config is not None
    assert floating.config.until == dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc)
    assert dm.compute(small, floating.config) == floating
    by_dict = dm.compute(small, {"days": 30, "until": SMALL_UNTIL})
    assert by_dict.config == dm.Config(days=30, until=SMALL_UNTIL)


def test_dataset_equality_ignores_row_order(small: dm.Dataset) -> None:
    records = small_records()
    shuffled = {name: list(reversed(rows)) for name, rows in records.items()}
    assert dm.Dataset(**shuffled) == small
    changed = small_records()
    changed["deployments"][1]["status"] = "failed"
    assert dm.Dataset(**changed) != small
    fewer = small_records()
    fewer["commits"].pop()
    assert dm.Dataset(**fewer) != small


def test_dataset_survives_a_store_round_trip(sample: dm.Dataset) -> None:
    store = dm.Store()
    store.save(sample)
    assert store.load() == sample


def test_config_repr_shows_every_setting() -> None:
    a = dm.Config(until="2026-11-01", severities=["P1", "P2", "P3"])
    b = dm.Config(until="2026-11-01", bot_min_pr_seconds=60)
    assert repr(a) != repr(b)
    assert "severities=['P1', 'P2', 'P3']" in repr(a) and "bot_min_pr_seconds=60" in repr(b)
    assert "until='2026-11-01T00:00:00Z'" in repr(a)
    # The repr is the constructor call.
    assert eval(repr(a), {"Config": dm.Config}) == a  # noqa: S307
    for key in dm.Config().to_dict():
        assert f"{key}=" in repr(dm.Config()), key


def test_config_replace_and_dicts() -> None:
    c = dm.Config(days=30, until="2026-11-01", hotfix_prefixes=["urgent/"], industry="insurance")
    d = c.to_dict()
    assert d["days"] == 30 and d["until"] == "2026-11-01T00:00:00Z" and d["hotfix_prefixes"] == ["urgent/"]
    assert json.loads(json.dumps(d)) == d  # plain JSON values
    assert dm.Config.from_dict(d) == c
    assert dm.Config(**d) == c
    assert list(d) == [p for p in __import__("inspect").signature(dm.Config).parameters]
    r = c.replace(days=60, severities=["P1"])
    assert (r.days, r.severities, r.industry, r.hotfix_prefixes) == (60, ["P1"], "insurance", ["urgent/"])
    assert c.days == 30  # unchanged
    assert c.replace() == c
    with pytest.raises(TypeError):
        c.replace(dayz=3)
    with pytest.raises(dm.ConfigError, match="days must be at least 1"):
        c.replace(days=0)
    with pytest.raises(TypeError):
        dm.Config.from_dict({**d, "colour": "red"})
    assert dm.Config.from_json(c.to_json()) == c
    with pytest.raises(dm.ConfigError, match="not a dora config"):
        dm.Config.from_json('{"dayz": 3}')


def test_pickled_config_in_a_set_of_what_ifs() -> None:
    base = dm.Config(until="2026-11-01")
    sweep: list[Any] = [base.replace(incident_window_hours=h) for h in (6, 12, 24)]
    assert pickle.loads(pickle.dumps(sweep)) == sweep
    assert sweep[2] == base
