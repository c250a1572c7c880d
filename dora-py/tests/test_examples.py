"""The walk-through in examples/notebook.py runs as documented and type-checks strictly.

The README points new users at it; an example no test runs rots silently.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.py"


def test_the_notebook_example_runs(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("polars")
    pytest.importorskip("matplotlib")
    env = dict(os.environ, MPLBACKEND="Agg", TMPDIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, str(NOTEBOOK)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "round trip through sample.json: identical report" in out.stdout
    assert (tmp_path / "dora_weekly_trends.png").stat().st_size > 0


def test_the_notebook_example_type_checks_strictly() -> None:
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(NOTEBOOK)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
