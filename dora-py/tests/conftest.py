"""Shared fixtures: the bundled sample, a hand-computed scenario, a local HTTP server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import dora_metrics as dm


@pytest.fixture(scope="session")
def sample() -> dm.Dataset:
    return dm.sample_dataset()


@pytest.fixture(scope="session")
def sample_report(sample: dm.Dataset) -> dm.Report:
    return dm.compute(sample, dm.Config(until=dm.SAMPLE_UNTIL))


def small_records() -> dict[str, list[dict[str, Any]]]:
    """The dora-core doc example plus a failed deployment and an incident, hand-computed:

    - PR 1: first commit b2 on the 2nd 09:00, created 2nd 12:00, reviewed 2nd 15:00,
      merged 3rd 12:00, deployed by d1 on the 3rd 15:00 -> lead time 30 h
      (coding 3 h, pickup 3 h, review 21 h, deploy 3 h).
    - d2 on the 5th fails; d3 (same commit) succeeds on the 5th 13:00 -> recovery 1 h.
    - P1 incident opened 3rd 17:00, resolved 3rd 19:30 -> MTTR 2.5 h; fails d1.
    """
    t = lambda d, h, m=0: f"2026-03-{d:02d}T{h:02d}:{m:02d}:00Z"  # noqa: E731
    return {
        "repositories": [{"slug": "api", "main_branch": "main"}],
        "commits": [
            {"repository": "api", "sha": "a1", "parents": [], "authored_at": t(1, 9), "message": "initial"},
            {"repository": "api", "sha": "b2", "parents": ["a1"], "authored_at": t(2, 9), "message": "add endpoint"},
            {
                "repository": "api",
                "sha": "m3",
                "parents": ["a1", "b2"],
                "authored_at": t(3, 12),
                "message": "Merged in feature/x (pull request #1)",
            },
        ],
        "pull_requests": [
            {
                "repository": "api",
                "id": 1,
                "title": "Add endpoint",
                "author": {"id": "u1", "display_name": "Jane"},
                "source_branch": "feature/x",
                "destination_branch": "main",
                "state": "merged",
                "created_at": t(2, 12),
                "first_review_at": t(2, 15),
                "merged_at": t(3, 12),
                "merge_commit": "m3",
            }
        ],
        "deployments": [
            {"repository": "api", "id": "d0", "environment": "production", "environment_kind": "production",
             "commit": "a1", "finished_at": t(1, 10), "status": "succeeded"},
            {"repository": "api", "id": "d1", "environment": "production", "environment_kind": "production",
             "commit": "m3", "finished_at": t(3, 15), "status": "succeeded"},
            {"repository": "api", "id": "d2", "environment": "production", "environment_kind": "production",
             "commit": "m3", "finished_at": t(5, 12), "status": "failed"},
            {"repository": "api", "id": "d3", "environment": "production", "environment_kind": "production",
             "commit": "m3", "finished_at": t(5, 13), "status": "succeeded"},
        ],
        "incidents": [
            {"id": "PD1", "source": "pagerduty", "title": "Errors", "severity": "P1", "opened_at": t(3, 17),
             "resolved_at": t(3, 19, 30), "status": "resolved"},
        ],
    }


SMALL_UNTIL = "2026-03-20T00:00:00Z"


@pytest.fixture()
def small() -> dm.Dataset:
    return dm.Dataset(**small_records())


class _Handler(http.server.BaseHTTPRequestHandler):
    respond: Callable[[http.server.BaseHTTPRequestHandler], None]

    def do_GET(self) -> None:  # noqa: N802
        type(self).respond(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 in a thread, answering with `respond(handler)`."""

    def __init__(self, respond: Callable[[http.server.BaseHTTPRequestHandler], None]) -> None:
        handler = type("Handler", (_Handler,), {"respond": staticmethod(respond)})
        self.requests: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[0], self.server.server_address[1]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_response(handler: http.server.BaseHTTPRequestHandler, status: int, body: Any,
                  headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture()
def local_server() -> Iterator[Callable[..., LocalServer]]:
    servers: list[LocalServer] = []

    def start(respond: Callable[[http.server.BaseHTTPRequestHandler], None]) -> LocalServer:
        s = LocalServer(respond).__enter__()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.__exit__()
