"""Sources and `collect`: error mapping against a local server, GIL release, credentials."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import dora_metrics as dm
from conftest import LocalServer, json_response

TOKEN = "tok-SECRET-9f8e7d6c5b4a"
CRED_VARS = ("BITBUCKET_EMAIL", "BITBUCKET_API_TOKEN", "BITBUCKET_ACCESS_TOKEN", "PAGERDUTY_TOKEN",
             "OPSGENIE_API_KEY", "INCIDENTIO_API_KEY")

Start = Callable[[Callable[[http.server.BaseHTTPRequestHandler], None]], LocalServer]


@pytest.fixture(autouse=True)
def no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in CRED_VARS:
        monkeypatch.delenv(var, raising=False)


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None,
           delay: float = 0.0) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        if delay:
            time.sleep(delay)
        json_response(h, status, body if body is not None else {"type": "error", "error": {"message": "nope"}},
                      headers)
    return respond


def test_collect_from_a_dataset(sample: dm.Dataset) -> None:
    data = dm.collect(sample, days=90, until=dm.SAMPLE_UNTIL)
    assert data.counts()["deployments"] == sample.counts()["deployments"]
    assert data.counts()["incidents"] == 0  # delivery data only...
    with_incidents = dm.collect(sample, sample, days=90, until=dm.SAMPLE_UNTIL)
    assert with_incidents.counts()["incidents"] == sample.counts()["incidents"]  # ...plus incidents
    assert (dm.compute(with_incidents, dm.Config(until=dm.SAMPLE_UNTIL)).to_dict()
            == dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL)).to_dict())


def test_collect_argument_errors(sample: dm.Dataset) -> None:
    with pytest.raises(TypeError, match="source must be"):
        dm.collect("acme")
    with pytest.raises(TypeError, match="incidents must be"):
        dm.collect(sample, "pagerduty")
    with pytest.raises(dm.ConfigError, match="days"):
        dm.collect(sample, days=0)
    with pytest.raises(dm.ConfigError, match="until"):
        dm.collect(sample, until="soon")


def test_bitbucket_bad_token_is_an_auth_error(local_server: Start) -> None:
    server = local_server(answer(401))
    source = dm.Bitbucket("acme", ["api"], base_url=server.url, email="jane@example.com", api_token=TOKEN)
    with pytest.raises(dm.AuthError) as info:
        dm.collect(source, days=30, until="2026-11-01")
    err = info.value
    assert isinstance(err, dm.DoraError)
    message = str(err)
    assert "401" in message and "bitbucket" in message
    assert "App passwords" in message  # the basic-auth advice from the adapter
    assert TOKEN not in message
    assert err.source_name == "bitbucket"


def test_bitbucket_missing_repository_is_not_found(local_server: Start) -> None:
    server = local_server(answer(404, {"type": "error", "error": {"message": "Repository not found"}}))
    source = dm.Bitbucket("acme", ["ghost"], base_url=server.url, access_token=TOKEN)
    with pytest.raises(dm.NotFoundError) as info:
        dm.collect(source, days=30, until="2026-11-01")
    assert isinstance(info.value, dm.SourceError)
    assert TOKEN not in str(info.value)


def test_malformed_json_is_a_source_error(local_server: Start) -> None:
    def garbage(h: http.server.BaseHTTPRequestHandler) -> None:
        body = b"{not json"
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    server = local_server(garbage)
    with pytest.raises(dm.SourceError) as info:
        dm.collect(dm.Bitbucket("acme", ["api"], base_url=server.url, access_token=TOKEN), days=30)
    assert not isinstance(info.value, dm.NotFoundError)
    assert "bitbucket" in str(info.value)


def test_pagerduty_bad_token_is_an_auth_error(sample: dm.Dataset, local_server: Start) -> None:
    server = local_server(answer(401, {"error": {"message": "Invalid Token", "code": 2001}}))
    with pytest.raises(dm.AuthError) as info:
        dm.collect(sample, dm.PagerDuty(TOKEN, base_url=server.url), days=30, until="2026-11-01")
    assert info.value.source_name == "pagerduty"
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("make", [
    lambda url: dm.Opsgenie(TOKEN, base_url=url),
    lambda url: dm.IncidentIo(TOKEN, base_url=url),
])
def test_other_incident_tools_map_401(make: Callable[[str], Any], sample: dm.Dataset, local_server: Start) -> None:
    server = local_server(answer(401, {"message": "Unauthorized"}))
    with pytest.raises(dm.AuthError) as info:
        dm.collect(sample, make(server.url), days=30, until="2026-11-01")
    assert TOKEN not in str(info.value)


def test_rate_limit_is_a_rate_limit_error(sample: dm.Dataset, local_server: Start) -> None:
    server = local_server(answer(429, {"error": {"message": "Too many requests"}}, {"Retry-After": "0"}))
    with pytest.raises(dm.RateLimitError) as info:
        dm.collect(sample, dm.PagerDuty(TOKEN, base_url=server.url), days=30, until="2026-11-01")
    err = info.value
    assert err.source_name == "pagerduty"
    assert err.retry_after is None or err.retry_after >= 0
    assert isinstance(err.endpoint, str) and err.endpoint


def test_gil_is_released_while_collecting(local_server: Start) -> None:
    """A Python thread keeps running while `collect` waits on a slow server.

    The server itself is a Python thread: if `collect` held the GIL it could
    not even answer, and the ticker would not advance.
    """
    delay = 1.5
    server = local_server(answer(401, delay=delay))
    source = dm.Bitbucket("acme", ["api"], base_url=server.url, access_token=TOKEN)
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    thread = threading.Thread(target=ticker)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(dm.AuthError):
            dm.collect(source, days=30)
    finally:
        stop.set()
        thread.join()
    elapsed = time.monotonic() - started
    assert elapsed >= delay
    # ~100 ticks per second of waiting; demand a third of that to stay robust on a loaded CI box.
    assert ticks >= 30 * delay, (ticks, elapsed)


def test_credentials_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(dm.ConfigError, match="BITBUCKET_EMAIL"):
        dm.Bitbucket("acme")
    monkeypatch.setenv("BITBUCKET_ACCESS_TOKEN", TOKEN)
    b = dm.Bitbucket("acme", ["api", "web"])
    assert (b.workspace, b.repos) == ("acme", ["api", "web"])
    assert "environment" in repr(b) and TOKEN not in repr(b)
    for cls, var in [(dm.PagerDuty, "PAGERDUTY_TOKEN"), (dm.Opsgenie, "OPSGENIE_API_KEY"),
                     (dm.IncidentIo, "INCIDENTIO_API_KEY")]:
        with pytest.raises(dm.ConfigError, match=var):
            cls()
        monkeypatch.setenv(var, TOKEN)
        assert TOKEN not in repr(cls())


def test_explicit_credentials_and_their_errors() -> None:
    b = dm.Bitbucket("acme", base_url="http://127.0.0.1:9", email="jane@example.com", api_token=TOKEN)
    assert b.repos == [] and b.base_url == "http://127.0.0.1:9"
    assert "basic" in repr(b) and TOKEN not in repr(b)
    assert "bearer" in repr(dm.Bitbucket("acme", access_token=TOKEN))
    with pytest.raises(dm.ConfigError, match="email"):
        dm.Bitbucket("acme", api_token=TOKEN)
    with pytest.raises(dm.ConfigError, match="api_token"):
        dm.Bitbucket("acme", email="jane@example.com")
    with pytest.raises(dm.ConfigError, match="not both"):
        dm.Bitbucket("acme", email="jane@example.com", api_token=TOKEN, access_token=TOKEN)
    with pytest.raises(dm.ConfigError, match="slug"):
        dm.Bitbucket("acme", ["acme/api"], access_token=TOKEN)
    with pytest.raises(dm.ConfigError, match="max_commit_pages"):
        dm.Bitbucket("acme", access_token=TOKEN, max_commit_pages=0)
    dm.Bitbucket("acme", access_token=TOKEN, max_commit_pages=500)
    with pytest.raises(dm.ConfigError, match="region"):
        dm.Opsgenie(TOKEN, region="mars")
    with pytest.raises(dm.ConfigError, match="P7"):
        dm.PagerDuty(TOKEN, severity_overrides={"SEV-1": "P7"})
    assert "base_url" in repr(dm.Opsgenie(TOKEN, region="eu", incidents_api=True, base_url="http://127.0.0.1:9"))
    dm.PagerDuty(TOKEN, service_ids=["PX1"], services={"checkout": ["web"]}, severity_overrides={"SEV-1": "P1"})
    dm.IncidentIo(TOKEN, services={"checkout": ["web"]})


def test_exception_hierarchy() -> None:
    for cls in (dm.AuthError, dm.RateLimitError, dm.SourceError, dm.ConfigError, dm.DatasetError):
        assert issubclass(cls, dm.DoraError)
    assert issubclass(dm.NotFoundError, dm.SourceError)
    assert issubclass(dm.DoraError, Exception)
    assert dm.DoraError.__module__ == "dora_metrics"
