"""`dm.Jsm`: Jira Service Management Operations alerts, against a local fake written here.

The same alerts served as Opsgenie (`/v2/alerts`) and as JSM Operations
(`/jsm/ops/api/{cloudId}/v1/alerts`) give the same report.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

import dora_metrics as dm
from conftest import LocalServer, json_response

CLOUD = "0f5c7a1e-0000-4000-8000-00000000c10d"
EMAIL = "jane@acme.io"
TOKEN = "tok-JSM-SECRET-5a4b3c2d1e"
GENIE = "tok-GENIE-SECRET-9e8d7c"
SCOPE = "read:ops-alert:jira-service-management"
VARS = ("BITBUCKET_EMAIL", "BITBUCKET_API_TOKEN", "BITBUCKET_ACCESS_TOKEN", "OPSGENIE_API_KEY",
        "ATLASSIAN_EMAIL", "ATLASSIAN_API_TOKEN", "JSM_CLOUD_ID", "JSM_SITE")

Start = Callable[[Callable[[http.server.BaseHTTPRequestHandler], None]], LocalServer]


@pytest.fixture(autouse=True)
def no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _in_query(query: str, created: dt.datetime) -> bool:
    ms = int(created.timestamp() * 1000)
    ops = {">=": ms.__ge__, ">": ms.__gt__, "<=": ms.__le__, "<": ms.__lt__}
    return all(ops[op](int(v)) for op, v in re.findall(r"createdAt\s*(>=|<=|>|<)\s*(\d+)", query))


def _alerts_server(incidents: list[dict[str, Any]]) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """Opsgenie `GET /v2/alerts` and JSM `GET …/v1/alerts` over the same incidents."""
    basic = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        selected = sorted((i for i in incidents if _in_query(q.get("query", ""), _ts(i["opened_at"]))),
                          key=lambda i: (i["opened_at"], i["id"]))
        offset = int(q.get("offset", "0"))
        if url.path == "/v2/alerts":
            if h.headers.get("Authorization") != f"GenieKey {GENIE}":
                return json_response(h, 401, {"message": "Could not authenticate"})
            limit = int(q.get("limit", "20"))
            data = []
            for i in selected[offset:offset + limit]:
                opened, resolved = _ts(i["opened_at"]), i["resolved_at"] and _ts(i["resolved_at"])
                report = {"closeTime": int((resolved - opened).total_seconds() * 1000)} if resolved else {}
                data.append({"id": i["id"], "message": i["title"], "status": "closed" if resolved else "open",
                             "acknowledged": i["status"] != "open", "tags": [f"service:{i['service']}"],
                             "createdAt": _iso(opened), "updatedAt": _iso(opened + dt.timedelta(days=1)),
                             "priority": i["severity"], "report": report})
            paging = {}
            if offset + limit < len(selected):
                paging["next"] = f"http://{h.headers['Host']}/v2/alerts?" + urllib.parse.urlencode(
                    {**q, "offset": offset + limit})
            return json_response(h, 200, {"data": data, "paging": paging, "took": 0.01})
        if url.path == f"/jsm/ops/api/{CLOUD}/v1/alerts":
            if h.headers.get("Authorization") != basic:
                return json_response(h, 401, {"code": 401, "message": "Unauthorized; scope does not match"})
            size = int(q.get("size", "20"))
            values = []
            for i in selected[offset:offset + size]:
                opened, resolved = _ts(i["opened_at"]), i["resolved_at"] and _ts(i["resolved_at"])
                values.append({"id": i["id"], "tinyId": "7", "message": i["title"], "entity": "db-1",
                               "status": "closed" if resolved else "open",
                               "acknowledged": i["status"] != "open", "tags": [f"service:{i['service']}"],
                               "createdAt": _iso(opened), "updatedAt": _iso(opened + dt.timedelta(days=1)),
                               "closeTime": _iso(resolved) if resolved else None, "priority": i["severity"],
                               "responders": [{"id": "team-1", "type": "team"}],
                               "extraProperties": {"paged": True}})
            more = offset + size < len(selected)
            next_link = f"/v1/alerts?offset={offset + size}&size={size}" if more else None
            return json_response(h, 200, {"values": values, "count": len(selected), "links": {"next": next_link}})
        json_response(h, 404, {"errors": [{"title": "Not Found", "code": "404"}]})

    return respond


def _neutral(report: dict[str, Any]) -> str:
    text = json.dumps(report, sort_keys=True)
    for tool in ("jsm", "opsgenie"):
        text = text.replace(f'"{tool}"', '"TOOL"').replace(f'"{tool}:', '"TOOL:')
    return text


def test_the_same_alerts_as_opsgenie_and_as_jsm_give_identical_reports(local_server: Start) -> None:
    sample = dm.sample_dataset()
    incidents = sample.records("incidents")
    server = local_server(_alerts_server(incidents))
    services = {i["service"]: [i["service"]] for i in incidents}
    config = dm.Config(until=dm.SAMPLE_UNTIL)
    from_opsgenie = dm.compute(dm.collect(sample, dm.Opsgenie(GENIE, base_url=server.url, services=services),
                                          until=dm.SAMPLE_UNTIL), config).to_dict()
    jsm = dm.Jsm(email=EMAIL, api_token=TOKEN, base_url=f"{server.url}/jsm/ops/api/{CLOUD}", services=services)
    from_jsm = dm.compute(dm.collect(sample, jsm, until=dm.SAMPLE_UNTIL), config).to_dict()
    assert from_jsm["recovery_time"]["incidents"]["count"] > 0
    assert from_jsm["change_failure_rate"]["by_signal"]["incident"] > 0
    assert from_jsm["recovery_time"] == from_opsgenie["recovery_time"]
    assert from_jsm["change_failure_rate"] == from_opsgenie["change_failure_rate"]
    assert _neutral(from_jsm) == _neutral(from_opsgenie)
    assert {i["source"] for i in from_jsm["incidents"]} == {"jsm"}
    # And both equal the sample's own incidents.
    assert from_jsm["recovery_time"] == dm.compute(sample, config).to_dict()["recovery_time"]


def test_jsm_auth_errors_name_the_scope_and_never_the_token(local_server: Start) -> None:
    server = local_server(_alerts_server([]))
    jsm = dm.Jsm(email=EMAIL, api_token="tok-WRONG-123456789", base_url=f"{server.url}/jsm/ops/api/{CLOUD}")
    with pytest.raises(dm.AuthError) as info:
        dm.collect(dm.sample_dataset(), jsm, until=dm.SAMPLE_UNTIL)
    message = str(info.value)
    assert SCOPE in message and "service accounts cannot call this API" in message
    assert "tok-WRONG-123456789" not in message and info.value.source_name == "jsm"


def test_jsm_signature_is_the_documented_one() -> None:
    import inspect

    p = inspect.signature(dm.Jsm).parameters
    assert list(p)[:5] == ["cloud_id", "site", "email", "api_token", "base_url"]
    assert p["cloud_id"].default is None and p["cloud_id"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p[k].kind is inspect.Parameter.KEYWORD_ONLY and p[k].default is None
               for k in ["site", "email", "api_token", "base_url"])
    assert "Jsm" in dm.__all__


def test_jsm_credentials_and_target(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(dm.ConfigError, match="ATLASSIAN_EMAIL"):
        dm.Jsm("c-1")
    with pytest.raises(dm.ConfigError, match="api_token"):
        dm.Jsm("c-1", email=EMAIL)
    with pytest.raises(dm.ConfigError, match="JSM_CLOUD_ID"):
        dm.Jsm(email=EMAIL, api_token=TOKEN)
    monkeypatch.setenv("BITBUCKET_EMAIL", EMAIL)
    monkeypatch.setenv("BITBUCKET_API_TOKEN", TOKEN)
    monkeypatch.setenv("JSM_SITE", "acme.atlassian.net")
    from_env = dm.Jsm()
    assert repr(from_env) == "Jsm(site=\"acme.atlassian.net\")"
    assert TOKEN not in repr(dm.Jsm("c-1", api_token=TOKEN, email=EMAIL))
    assert repr(dm.Jsm("c-1")) == "Jsm(cloud_id=\"c-1\")"
    assert repr(dm.Jsm(site="acme", base_url="http://127.0.0.1:9/x")).startswith("Jsm(base_url=")
