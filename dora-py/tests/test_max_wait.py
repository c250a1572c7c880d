"""`max_wait_seconds=`: the total wait budget of a source, against a local server."""

from __future__ import annotations

import http.server
import math
import time
from collections.abc import Callable
from typing import Any

import pytest

import dora_metrics as dm
from conftest import LocalServer, json_response

TOKEN = "tok-SECRET-1a2b3c4d5e6f"

Start = Callable[[Callable[[http.server.BaseHTTPRequestHandler], None]], LocalServer]


def limited(retry_after: str) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        json_response(h, 429, {"error": {"message": "Too many requests"}}, {"Retry-After": retry_after})
    return respond


def test_a_spent_budget_fails_at_once_saying_so(sample: dm.Dataset, local_server: Start) -> None:
    server = local_server(limited("2"))
    started = time.monotonic()
    with pytest.raises(dm.SourceError) as info:
        dm.collect(sample, dm.PagerDuty(TOKEN, base_url=server.url, max_wait_seconds=1), days=30,
                   until="2026-11-01")
    assert time.monotonic() - started < 2, "waited although the budget could not cover the wait"
    message = str(info.value)
    assert "wait budget of 1s is spent" in message, message
    assert "max_wait_seconds" in message
    assert TOKEN not in message


def test_bitbucket_zero_never_waits(local_server: Start) -> None:
    server = local_server(limited("1"))
    source = dm.Bitbucket("acme", ["api"], base_url=server.url, access_token=TOKEN, max_wait_seconds=0)
    with pytest.raises(dm.SourceError, match="wait budget of 0s"):
        dm.collect(source, days=30, until="2026-11-01")


@pytest.mark.parametrize("make", [
    lambda v: dm.Bitbucket("acme", access_token=TOKEN, max_wait_seconds=v),
    lambda v: dm.PagerDuty(TOKEN, max_wait_seconds=v),
    lambda v: dm.Opsgenie(TOKEN, max_wait_seconds=v),
    lambda v: dm.IncidentIo(TOKEN, max_wait_seconds=v),
])
def test_max_wait_seconds_is_checked(make: Callable[[float], Any]) -> None:
    make(0)
    make(600)
    make(2.5)
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(dm.ConfigError, match="max_wait_seconds"):
            make(bad)
