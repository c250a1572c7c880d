"""The public surface: names, stubs, typing markers."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import dora_metrics as dm

PKG = Path(dm.__file__).resolve().parent


def test_public_names() -> None:
    for name in dm.__all__:
        assert hasattr(dm, name), name
    for name in ["Bitbucket", "PagerDuty", "Opsgenie", "IncidentIo", "collect", "compute", "Config", "Dataset",
                 "Report", "DoraError", "AuthError", "RateLimitError", "SourceError", "ConfigError",
                 "Store", "StoreError"]:
        assert name in dm.__all__, name
    assert dm.__version__.count(".") == 2


def test_documented_signatures() -> None:
    """The signatures DESIGN.md promises."""
    assert str(inspect.signature(dm.collect)).startswith("(source: 'Bitbucket | Dataset', incidents:")
    assert list(inspect.signature(dm.collect).parameters) == ["source", "incidents", "days", "until"]
    assert inspect.signature(dm.collect).parameters["days"].default == 90
    assert inspect.signature(dm.collect).parameters["days"].kind is inspect.Parameter.KEYWORD_ONLY
    params = inspect.signature(dm.Bitbucket).parameters
    assert list(params)[:6] == ["workspace", "repos", "base_url", "email", "api_token", "access_token"]
    assert params["base_url"].kind is inspect.Parameter.KEYWORD_ONLY
    for cls in (dm.PagerDuty, dm.Opsgenie, dm.IncidentIo):
        p = inspect.signature(cls).parameters
        assert p["token"].default is None and p["base_url"].kind is inspect.Parameter.KEYWORD_ONLY
    c = inspect.signature(dm.Config).parameters
    assert (c["days"].default, c["until"].default) == (90, None)
    assert list(inspect.signature(dm.compute).parameters)[:2] == ["dataset", "config"]


def test_typed_package_ships_stubs_and_marker() -> None:
    assert (PKG / "py.typed").exists()
    assert (PKG / "_native.pyi").exists()
    assert (PKG / "data" / "sample_dataset.json").exists()


def test_stubs_match_the_module() -> None:
    pytest.importorskip("mypy")
    # No allowlist: every runtime name of the extension is in its stub, and back.
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "dora_metrics"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_package_type_checks_strictly() -> None:
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(PKG)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
