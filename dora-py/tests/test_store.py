"""`Store`: the SQLite event store — round trips, reports for SQL readers, sync and its errors."""

from __future__ import annotations

import http.server
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import dora_metrics as dm
from conftest import LocalServer, json_response

TOKEN = "tok-SECRET-5a4b3c2d1e0f"
CONFIG = dm.Config(until=dm.SAMPLE_UNTIL)

Start = Callable[[Callable[[http.server.BaseHTTPRequestHandler], None]], LocalServer]


@pytest.fixture(autouse=True)
def no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BITBUCKET_EMAIL", "BITBUCKET_API_TOKEN", "BITBUCKET_ACCESS_TOKEN", "PAGERDUTY_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def test_save_load_round_trip(sample: dm.Dataset, tmp_path: Path) -> None:
    path = tmp_path / "dora.db"
    with dm.Store(path) as store:  # an os.PathLike
        assert store.path == str(path)
        store.save(sample)
        store.save(sample)  # upserts: saving twice stores once
        assert store.counts() == sample.counts()
        loaded = store.load()
    assert isinstance(loaded, dm.Dataset)
    assert loaded.counts() == sample.counts()
    # The store hands tables back in key order; compare as sets of records.
    for table in sample.counts():
        key = lambda r: repr(sorted(r.items()))  # noqa: E731
        assert sorted(loaded.records(table), key=key) == sorted(sample.records(table), key=key), table
    # A new connection to the same file sees the events.
    reopened = dm.Store(str(path))
    assert reopened.counts() == sample.counts()
    reopened.close()


def test_report_of_the_store_equals_the_report_of_the_dataset(sample: dm.Dataset,
                                                               sample_report: dm.Report) -> None:
    store = dm.Store()
    store.save(sample)
    assert dm.compute(store.load(), CONFIG).to_dict() == sample_report.to_dict()


def test_counts_of_an_empty_and_a_filled_store(small: dm.Dataset) -> None:
    store = dm.Store(":memory:")
    assert store.path == ":memory:"
    assert store.counts() == {t: 0 for t in small.counts()}
    store.save(small)
    assert store.counts() == small.counts()
    assert store.counts()["deployments"] == 4


def test_save_report_feeds_the_sql_views(sample: dm.Dataset, sample_report: dm.Report, tmp_path: Path) -> None:
    path = tmp_path / "dora.db"
    store = dm.Store(path)
    store.save(sample)
    first = store.save_report(sample_report)
    second = store.save_report(sample_report)
    assert isinstance(first, int) and second > first
    store.close()
    changes = len(sample_report.to_dict()["changes"])
    assert changes > 0
    with sqlite3.connect(path) as db:  # what a BI tool sees: the latest run's rows
        (rows,) = db.execute("SELECT COUNT(*) FROM v_changes").fetchone()
        assert rows == changes
        (runs,) = db.execute("SELECT COUNT(*) FROM report_runs").fetchone()
        assert runs == 2
        (deployments,) = db.execute("SELECT COUNT(*) FROM v_deployments").fetchone()
        assert deployments == len(sample_report.to_dict()["deployments"])


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(dm.StoreError) as info:
        dm.Store(path)
    assert isinstance(info.value, dm.DoraError)
    message = str(info.value)
    assert str(path) in message and "not a database" in message


def test_a_directory_cannot_be_a_store(tmp_path: Path) -> None:
    with pytest.raises(dm.StoreError, match="store"):
        dm.Store(tmp_path)


def test_sync_bad_token_is_an_auth_error(local_server: Start, tmp_path: Path) -> None:
    server = local_server(lambda h: json_response(h, 401, {"type": "error", "error": {"message": "nope"}}))
    source = dm.Bitbucket("acme", ["api"], base_url=server.url, email="jane@example.com", api_token=TOKEN)
    store = dm.Store(tmp_path / "dora.db")
    with pytest.raises(dm.AuthError) as info:
        store.sync(source, days=30, until="2026-11-01")
    message = str(info.value)
    assert "401" in message and "bitbucket" in message
    assert "sync stopped after 0 scope(s)" in message
    assert TOKEN not in message
    assert info.value.source_name == "bitbucket"
    assert store.counts()["repositories"] == 0  # nothing half-written


def empty_bitbucket_and_pagerduty(requests: list[str]) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """A workspace `acme` with one repository `api` and no events; PagerDuty with no incidents."""
    lock = threading.Lock()

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        with lock:
            requests.append(h.path)
        route = h.path.split("?")[0]
        if route == "/repositories/acme/api":
            json_response(h, 200, {"slug": "api", "mainbranch": {"name": "main"}})
        elif route.startswith("/incidents"):
            json_response(h, 200, {"incidents": [], "more": False, "limit": 100, "offset": 0})
        else:
            json_response(h, 200, {"values": [], "pagelen": 50})

    return respond


def test_sync_summary_and_resume(local_server: Start) -> None:
    requests: list[str] = []
    server = local_server(empty_bitbucket_and_pagerduty(requests))
    source = dm.Bitbucket("acme", ["api"], base_url=server.url, access_token=TOKEN)
    incidents = dm.PagerDuty(TOKEN, base_url=server.url)
    store = dm.Store()
    summary = store.sync(source, incidents, days=30, until="2026-11-01")
    assert set(summary) == {"scopes", "requests", "events", "incidents"}
    assert summary["scopes"] == 1 and summary["incidents"] == 0
    assert summary["requests"] > 0
    assert store.counts()["repositories"] == 1
    assert store.load().repositories == ["api"]
    assert any(p.startswith("/incidents") for p in requests)
    # The second sync resumes from the stored cursor.
    again = store.sync(source, days=30, until="2026-11-02")
    assert again["scopes"] == 1 and again["incidents"] == 0
    assert store.counts()["repositories"] == 1


def test_sync_argument_errors(sample: dm.Dataset) -> None:
    store = dm.Store()
    with pytest.raises(TypeError, match="Store.save"):
        store.sync(sample)  # type: ignore[arg-type]
    source = dm.Bitbucket("acme", ["api"], base_url="http://127.0.0.1:9", access_token=TOKEN)
    with pytest.raises(TypeError, match="Store.save"):
        store.sync(source, sample)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="incidents must be"):
        store.sync(source, "pagerduty")  # type: ignore[arg-type]
    with pytest.raises(dm.ConfigError, match="days"):
        store.sync(source, days=0)
    with pytest.raises(dm.ConfigError, match="until"):
        store.sync(source, until="soon")
    with pytest.raises(TypeError, match="Dataset"):
        store.save(sample.records("commits"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Report"):
        store.save_report({})  # type: ignore[arg-type]


def test_close_repr_and_hierarchy(tmp_path: Path) -> None:
    store = dm.Store(tmp_path / "a.db")
    assert repr(store) == f"Store({str(tmp_path / 'a.db')!r})"
    assert not store.closed
    store.close()
    store.close()  # idempotent
    assert store.closed and "closed" in repr(store)
    with pytest.raises(dm.StoreError, match="closed"):
        store.counts()
    assert repr(dm.Store()) == "Store(':memory:')"
    assert issubclass(dm.StoreError, dm.DoraError)
    assert dm.StoreError.__module__ == "dora_metrics"


def test_gil_is_released_while_syncing(local_server: Start) -> None:
    """Other threads run during a slow sync; one using the same store waits for it without deadlocking."""
    import time

    delay = 1.0

    def slow_401(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        json_response(h, 401, {"type": "error", "error": {"message": "nope"}})

    server = local_server(slow_401)
    source = dm.Bitbucket("acme", ["api"], base_url=server.url, access_token=TOKEN)
    store = dm.Store()
    ticks = 0
    stop = threading.Event()
    counted: list[dict[str, int]] = []

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    def reader() -> None:
        time.sleep(0.2)  # the sync holds the store by now
        counted.append(store.counts())

    threads = [threading.Thread(target=ticker), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    started = time.monotonic()
    try:
        with pytest.raises(dm.AuthError):
            store.sync(source, days=30)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert time.monotonic() - started >= delay
    assert ticks >= 30 * delay, ticks
    assert counted and counted[0]["repositories"] == 0


def _postgres_database() -> str | None:
    """A fresh database on the test server (DORA_TEST_POSTGRES_URL, started by
    scripts/test-all.sh); None to skip. With DORA_REQUIRE_POSTGRES=1 or CI set,
    a missing server fails the test instead."""
    import os
    import shutil
    import subprocess
    import uuid

    url = os.environ.get("DORA_TEST_POSTGRES_URL")
    if not url:
        required = os.environ.get("DORA_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "0") not in ("", "0")
        assert not required, "DORA_TEST_POSTGRES_URL is unset but PostgreSQL tests are required: run scripts/test-all.sh"
        return None
    psql = shutil.which("psql")
    assert psql, "psql (Debian's postgresql-client) is needed to create the test database"
    name = f"dora_py_{uuid.uuid4().hex[:12]}"
    subprocess.run([psql, url, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return url.rsplit("/", 1)[0] + "/" + name


def test_postgres_store_round_trip_and_redaction(sample: dm.Dataset, sample_report: dm.Report) -> None:
    url = _postgres_database()
    if url is None:
        pytest.skip("DORA_TEST_POSTGRES_URL unset (scripts/test-all.sh starts a server)")
    # A password in the URL is used (the test server trusts local users) and never shown.
    with_password = url.replace("postgres@", "postgres:pw-SECRET-1234@", 1)
    with dm.Store(with_password) as store:
        assert store.backend == "postgres"
        assert "pw-SECRET" not in store.path and "pw-SECRET" not in repr(store)
        assert ":***@" in store.path
        store.save(sample)
        store.save(sample)
        assert store.counts() == sample.counts()
        assert dm.compute(store.load(), CONFIG).to_dict() == sample_report.to_dict()
        assert store.save_report(sample_report) >= 1
    with dm.Store(url) as again:  # a second connection sees the same rows
        assert again.counts() == sample.counts()
    bad = "postgresql://dora:pw-SECRET-5678@127.0.0.1:1/nowhere"
    with pytest.raises(dm.StoreError) as info:
        dm.Store(bad)
    assert "pw-SECRET" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)
