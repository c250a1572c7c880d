"""Benchmark: a workspace of 1,000 repositories into a Dataset, and its report.

    python dora-py/bench/ingest_bench.py [COPIES]

Clones the bundled sample (two repositories) COPIES times (default 500: 1,000
repositories, about 391,000 rows) as pandas frames, then times

- ``dm.Dataset(**frames)`` from pandas, polars and pyarrow frames (the Arrow C
  stream path; ``DORA_INGEST=rows`` forces the row-by-row path for comparison),
- ``dm.compute`` (the metrics plus handing the report to Python), and
- the first access to a section and to a frame of the report.

Prints one line per step. Not a test: timings depend on the box.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import dora_metrics as dm

COPIES = int(sys.argv[1]) if len(sys.argv) > 1 else 500


def clone(copies: int) -> dict[str, Any]:
    """The sample's tables as pandas frames, repeated with renamed repositories and ids."""
    import pandas as pd

    sample = dm.sample_dataset()
    frames = {t: sample.to_pandas(t) for t in ("repositories", "commits", "pull_requests", "environments",
                                              "deployments", "incidents")}
    out: dict[str, Any] = {}
    for table, frame in frames.items():
        parts = []
        for i in range(copies):
            part = frame.copy()
            suffix = f"-{i:04d}"
            for col in ("repository", "slug"):
                if col in part:
                    part[col] = part[col] + suffix
            if table == "incidents":
                part["id"] = part["id"] + suffix
                part["repositories"] = [[r + suffix for r in rs] for rs in part["repositories"]]
            parts.append(part)
        out[table] = pd.concat(parts, ignore_index=True)
    return out


def timed(label: str, fn: Any) -> Any:
    t0 = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - t0:.3f} s")
    return result


def main() -> None:
    frames = clone(COPIES)
    rows = sum(len(f) for f in frames.values())
    print(f"{COPIES * 2} repositories, {rows} rows "
          f"({', '.join(f'{t} {len(f)}' for t, f in frames.items())})")
    data = timed("Dataset(**pandas frames)", lambda: dm.Dataset(**frames))
    assert len(data) == rows, (len(data), rows)
    try:
        import polars as pl

        polars_frames = {t: pl.from_pandas(f) for t, f in frames.items()}
        again = timed("Dataset(**polars frames)", lambda: dm.Dataset(**polars_frames))
        assert again == data
        lazy = {t: f.lazy() for t, f in polars_frames.items()}
        try:
            timed("Dataset(**polars LazyFrames)", lambda: dm.Dataset(**lazy))
        except dm.DatasetError as e:
            print(f"Dataset(**polars LazyFrames): {e}")
    except ImportError:
        print("polars: skipped")
    try:
        import pyarrow as pa

        arrow_frames = {t: pa.Table.from_pandas(f, preserve_index=False) for t, f in frames.items()}
        timed("Dataset(**pyarrow tables)", lambda: dm.Dataset(**arrow_frames))
    except ImportError:
        print("pyarrow: skipped")
    config = dm.Config(until=dm.SAMPLE_UNTIL)
    report = timed("dm.compute", lambda: dm.compute(data, config))
    timed("first section (report.lead_time.median_seconds)", lambda: report.lead_time.median_seconds)
    timed("report.to_pandas('changes')", lambda: report.to_pandas("changes"))
    timed("report.to_dict()", report.to_dict)
    print(f"report: {report.lead_time.count} changes, {report.deployment_frequency.count} deployments, "
          f"{len(report.repositories)} repositories; DORA_INGEST={os.environ.get('DORA_INGEST', 'auto')}")


if __name__ == "__main__":
    main()
