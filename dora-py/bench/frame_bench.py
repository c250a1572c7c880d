"""Benchmark: a 100,000-row lead-time frame into pandas and polars (target < 100 ms).

    python dora-py/bench/frame_bench.py [ROWS]

Builds a real dataset of ROWS merged pull requests (each with one commit and a
merge commit, deployed daily), computes its report once, then times
`report.to_pandas("changes")` and `report.to_polars("changes")` — the Arrow
hand-off of 17 columns, built in Rust and read through `__arrow_c_stream__`.
Prints the best and median of several runs. Not a test: timings depend on the box.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import dora_metrics as dm

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
RUNS = 7


def build(rows: int) -> dm.Dataset:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    iso = lambda t: t.isoformat()  # noqa: E731
    per_day = max(1, rows // 80)
    commits = [{"repository": "mono", "sha": "root", "parents": [], "authored_at": iso(start - timedelta(days=1)),
                "message": "root"}]
    prs = []
    deployments = [{"repository": "mono", "id": "d-base", "environment": "production",
                    "environment_kind": "production", "commit": "root", "finished_at": iso(start - timedelta(hours=20)),
                    "status": "succeeded"}]
    tip = "root"
    for i in range(rows):
        day, k = divmod(i, per_day)
        t = start + timedelta(days=day, minutes=k * (600 / per_day))
        c, m = f"c{i}", f"m{i}"
        commits.append({"repository": "mono", "sha": c, "parents": [tip], "authored_at": iso(t), "message": f"work {i}"})
        commits.append({"repository": "mono", "sha": m, "parents": [tip, c], "authored_at": iso(t + timedelta(hours=3)),
                        "message": f"Merged in feature/{i} (pull request #{i})"})
        tip = m
        prs.append({"repository": "mono", "id": i, "title": f"Change {i}", "author": {"id": f"u{i % 50}",
                    "display_name": f"Dev {i % 50}"}, "source_branch": f"feature/{i}", "destination_branch": "main",
                    "state": "merged", "created_at": iso(t + timedelta(hours=1)),
                    "first_review_at": iso(t + timedelta(hours=2)), "merged_at": iso(t + timedelta(hours=3)),
                    "merge_commit": m})
        if k == per_day - 1 or i == rows - 1:
            deployments.append({"repository": "mono", "id": f"d{day}", "environment": "production",
                                "environment_kind": "production", "commit": tip,
                                "finished_at": iso(start + timedelta(days=day, hours=20)), "status": "succeeded"})
    return dm.Dataset(commits=commits, pull_requests=prs, deployments=deployments,
                      repositories=[{"slug": "mono", "main_branch": "main"}])


def timed(fn: object) -> list[float]:
    out = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    t0 = time.perf_counter()
    data = build(ROWS)
    t1 = time.perf_counter()
    report = dm.compute(data, dm.Config(days=120, until="2026-05-01"))
    t2 = time.perf_counter()
    rows = report.lead_time.count
    print(f"dataset of {ROWS} PRs built in {t1 - t0:.1f} s, report computed in {t2 - t1:.1f} s: "
          f"{rows} changes behind lead time")
    if rows < ROWS:
        sys.exit(f"expected {ROWS} changes, got {rows}")
    results = {}
    for name, fn in [("pandas", lambda: report.to_pandas("changes")), ("polars", lambda: report.to_polars("changes"))]:
        try:
            df = fn()
        except ImportError as e:
            print(f"{name}: skipped ({e})")
            continue
        assert len(df) == rows
        ms = timed(fn)
        results[name] = min(ms)
        print(f"{name}: {len(df)} rows x {len(df.columns)} columns: best {min(ms):.1f} ms, "
              f"median {statistics.median(ms):.1f} ms over {RUNS} runs")
    worst = max(results.values(), default=0.0)
    print(f"target < 100 ms: {'met' if worst < 100 else 'MISSED'} (slowest best-of-{RUNS}: {worst:.1f} ms)")


if __name__ == "__main__":
    main()
