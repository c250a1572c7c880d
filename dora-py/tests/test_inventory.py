"""`dm.inventory`: the read-only audit against a local Bitbucket-shaped server."""

from __future__ import annotations

import http.server
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

import dora_metrics as dm
from conftest import LocalServer, json_response

TOKEN = "tok-INVENTORY-5e4d3c2b1a"
Start = Callable[[Callable[[http.server.BaseHTTPRequestHandler], None]], LocalServer]


def page(values: list[Any]) -> dict[str, Any]:
    return {"pagelen": 100, "page": 1, "values": values}


ROUTES: dict[str, tuple[int, Any]] = {
    "/repositories/acme": (200, page([{"slug": "web", "mainbranch": {"name": "main"}}])),
    "/repositories/acme/web/environments": (200, page([])),
    "/repositories/acme/web/deployments": (200, page([])),
    "/repositories/acme/web/branching-model": (200, {
        "type": "branching_model",
        "development": {"name": "develop", "use_mainbranch": False, "branch": {"name": "develop"}},
        "production": {"name": "main", "use_mainbranch": True, "branch": {"name": "main"}},
        "branch_types": [{"kind": "hotfix", "prefix": "hotfix/"}],
    }),
    "/repositories/acme/web/pullrequests": (200, page([
        {"author": {"type": "app_user", "display_name": "Dependabot"},
         "source": {"commit": {"hash": "abcdef123456"}}, "merge_commit": {"hash": "fedcba654321"},
         "links": {"html": {"href": "https://bitbucket.org/acme/web/pull-requests/7"}}},
    ])),
    "/repositories/acme/web/commits/main": (200, page([
        {"hash": "fedcba6543210000", "parents": [{"hash": "1111"}]},
    ])),
    "/repositories/acme/web/pipelines": (200, page([
        {"build_number": 42, "created_on": "2026-10-20T10:00:00Z",
         "target": {"ref_type": "branch", "ref_name": "main"}},
        {"build_number": 41, "created_on": "2026-10-19T10:00:00Z",
         "target": {"ref_type": "branch", "ref_name": "main"}},
    ])),
}


def bitbucket(seen: list[str]) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlparse(h.path).path.removeprefix("/2.0")
        seen.append(f"{h.command} {path}")
        status, body = ROUTES.get(path, (404, {"type": "error", "error": {"message": "not found"}}))
        json_response(h, status, body)
    return respond


def test_inventory_finds_pipelines_without_deployments(local_server: Start, sample: dm.Dataset) -> None:
    seen: list[str] = []
    server = local_server(bitbucket(seen))
    source = dm.Bitbucket("acme", base_url=server.url, access_token=TOKEN)
    inv = dm.inventory(source, sample, days=30, until=dm.SAMPLE_UNTIL)

    (repo,) = inv["repositories"]
    assert repo["slug"] == "web"
    assert repo["pipelines"]["runs"] == 2
    assert repo["pipelines"]["latest_url"] == "https://bitbucket.org/acme/web/addon/pipelines/home#!/results/42"
    assert repo["branching_model"] == {
        "production": "main", "development": "develop",
        "branch_types": [{"kind": "hotfix", "prefix": "hotfix/"}],
    }
    assert repo["merge_strategies"]["squash"] == 1
    assert repo["bots"] == ["Dependabot"]
    assert repo["requests"] <= 8
    codes = {f["code"] for f in inv["findings"]}
    assert {"pipelines_without_deployments", "no_production_environment", "bot_accounts"} <= codes
    assert all(f["fix"] and f["severity"] in {"info", "warning", "error"} for f in inv["findings"])
    # The incident audit of the sample's incidents, with the default filter.
    incidents = inv["incidents"]
    assert incidents["severity_filter"] == ["P1", "P2"]
    assert incidents["kept"] <= incidents["incidents"]
    # Read-only, within the budget, and the token is never in the result.
    assert all(s.startswith("GET ") for s in seen)
    assert len([s for s in seen if "/acme/web" in s]) <= 8
    assert TOKEN not in json.dumps(inv)


def test_inventory_403_is_a_finding_and_401_an_auth_error(local_server: Start) -> None:
    def forbid_pipelines(h: http.server.BaseHTTPRequestHandler) -> None:
        if h.path.split("?")[0].endswith("/pipelines"):
            json_response(h, 403, {"type": "error", "error": {"message": "scope"}})
        else:
            bitbucket([])(h)
    server = local_server(forbid_pipelines)
    inv = dm.inventory(dm.Bitbucket("acme", base_url=server.url, access_token=TOKEN), until=dm.SAMPLE_UNTIL)
    assert inv["repositories"][0]["forbidden"][0]["scope"] == "read:pipeline:bitbucket"
    assert any(f["code"] == "missing_scope" for f in inv["findings"])

    def unauthorized(h: http.server.BaseHTTPRequestHandler) -> None:
        json_response(h, 401, {"type": "error", "error": {"message": "bad token"}})
    server = local_server(unauthorized)
    with pytest.raises(dm.AuthError) as err:
        dm.inventory(dm.Bitbucket("acme", base_url=server.url, access_token=TOKEN))
    assert TOKEN not in str(err.value)


def test_inventory_wants_a_bitbucket_source(sample: dm.Dataset) -> None:
    with pytest.raises(TypeError):
        dm.inventory(sample)  # type: ignore[arg-type]
    with pytest.raises(dm.ConfigError):
        dm.inventory(dm.Bitbucket("acme", access_token=TOKEN), days=0)
