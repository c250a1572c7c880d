# %% [markdown]
# # DORA metrics in a notebook
#
# A walk through `dora_metrics` on the bundled sample (two repositories, about
# four months of pull requests, deployments and PagerDuty incidents). Runs as a
# script (`python examples/notebook.py`) or cell by cell in Jupyter / VS Code.
# Install first: `pip install ./dora-py pandas polars pyarrow matplotlib`.
#
# Against your own workspace, replace the sample with:
#
# ```python
# data = dm.collect(dm.Bitbucket("acme", ["payments-api"]),   # BITBUCKET_EMAIL + BITBUCKET_API_TOKEN
#                   dm.PagerDuty(),                            # PAGERDUTY_TOKEN
#                   days=90)
# data.save("acme.json")                                       # collect once, analyse many times
# ```

# %%
from __future__ import annotations

import os
import tempfile

import dora_metrics as dm

data = dm.sample_dataset()
print(data)

# %% [markdown]
# ## The report: every metric is an attribute

# %%
config = dm.Config(days=90, until=dm.SAMPLE_UNTIL)
report = dm.compute(data, config)
print(report)
lt = report.lead_time
print(f"\nlead time: median {(lt.median_seconds or 0) / 3600:.1f} h over {lt.count} changes, tier {lt.tier}")
for phase in ("coding", "pickup", "review", "deploy"):
    print(f"  {phase:<7} median {lt.phases[phase].median_seconds / 3600:6.1f} h")
cfr = report.change_failure_rate
print(f"change failure rate {cfr.rate:.1%}: {dict(cfr.by_signal)}")

# %% [markdown]
# ## Every number is traceable: the rows behind it, as pandas

# %%
import importlib.util

have_pandas = importlib.util.find_spec("pandas") is not None
if have_pandas:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
else:
    print("pandas is not installed: pip install pandas pyarrow")

if have_pandas:
    changes = report.to_pandas("changes")
    print(changes[["repository", "pull_request", "author", "lead_time_seconds"]].head())
    # Slowest phase per repository, in hours.
    phases = ["coding_seconds", "pickup_seconds", "review_seconds", "deploy_seconds"]
    print((changes.groupby("repository")[phases].median() / 3600).round(1))

    deployments = report.to_pandas("deployments")
    failed = deployments[deployments["failed"]]
    print(failed[["repository", "id", "deployed_at", "evidence", "recovery_seconds"]].to_string(index=False))

# %% [markdown]
# ## Tidy frames: every repository at once
#
# `weekly` with `by="repository"` is one long table, one row per (repository, week);
# `metrics` is one numeric row per repository after the workspace row. Columns keep
# their types and nullability whatever the data, so frames of several reports concatenate.

# %%
if pd is not None:
    weekly = report.to_pandas("weekly", by="repository")
    print(weekly.pivot(index="week_start", columns="repository", values="lead_time_median_seconds").div(3600).round(1))

    metrics = report.to_pandas("metrics").set_index("repository")
    print(metrics[["deployments_per_week", "lead_time_median_seconds", "change_failure_rate", "rework_rate"]])

    # Join keys: incidents to the deployment they were attributed to.
    incidents = report.to_pandas("incidents")
    blamed = incidents.merge(deployments, on=["repository", "deployment_id"], suffixes=("", "_deployment"))
    print(blamed[["id", "severity", "repository", "deployment_id", "commit", "deployed_at"]].to_string(index=False))

# %% [markdown]
# ## ... and as polars

# %%
have_polars = importlib.util.find_spec("polars") is not None
if have_polars:
    import polars as pl
else:
    print("polars is not installed: pip install polars")

if have_polars:
    per_author = (
        report.to_polars("changes")
        .group_by("author")
        .agg(pl.len().alias("changes"), (pl.col("lead_time_seconds").median() / 3600).alias("median_hours"))
        .sort("changes", descending=True)
    )
    print(per_author)
    print(report.to_polars("incidents").select("id", "severity", "counted", "recovery_seconds", "deployment"))

# %% [markdown]
# ## Data-quality diagnostics: read them before trusting a number

# %%
for d in report.diagnostics:
    print(f"[{d.severity}] {d.code}" + (f" ({d.repository})" if "repository" in d else "") + f": {d.message}")

# %% [markdown]
# ## Per repository, and what-if configuration

# %%
for row in report.summary():  # numbers; report.summary_text() has them formatted
    print(f"{row.metric:<22} {row.value!r:>22} {row.unit:<9} {row.tier}")
for slug, m in report.repositories.items():
    print(f"{slug:<14} deploys/week {m.deployment_frequency.per_week:5.2f} "
          f"({m.deployment_frequency.source}), lead time median "
          f"{(m.lead_time.median_seconds or 0) / 3600:6.1f} h")

# What if P3 incidents counted too? What if failed deployments re-run successfully within 3 hours were forgiven?
# Configs, datasets and reports pickle, so a sweep can also run in a ProcessPoolExecutor.
with_p3 = dm.compute(data, config.replace(severities=["P1", "P2", "P3"]))
forgiving = dm.compute(data, config.replace(rerun_excuse_minutes=180))
print(forgiving.config)
print(f"change failure rate {report.change_failure_rate.rate:.1%}; with P3 incidents "
      f"{with_p3.change_failure_rate.rate:.1%}; excusing quick re-runs {forgiving.change_failure_rate.rate:.1%} "
      f"({forgiving.change_failure_rate.excused_reruns} excused)")

# %% [markdown]
# ## Slicing: one repository, a time range, your own dimensions
#
# Extra input columns (here a `team` per repository) are kept and appear in the report's frames.

# %%
web = data.filter(repositories=["web-app"])
print(web, "->", dm.compute(web, config).lead_time.count, "changes")
if have_pandas:
    repos = pd.DataFrame({"slug": ["payments-api", "web-app"], "main_branch": ["main", "main"],
                          "team": ["payments", "storefront"]})
    tables = {t: data.to_pandas(t) for t in ("commits", "pull_requests", "environments", "deployments", "incidents")}
    with_teams = dm.Dataset(repositories=repos, **tables)
    by_team = dm.compute(with_teams, config).to_pandas("weekly", by="repository")
    print(by_team.groupby("team")[["deployments", "lead_time_changes"]].sum())

# %% [markdown]
# ## Weekly trends

# %%
# Figures are built without pyplot: in Jupyter a cell ending in `report.plot()` shows it once.
try:
    fig = report.plot()
    out = os.path.join(tempfile.gettempdir(), "dora_weekly_trends.png")
    fig.savefig(out, dpi=90)
    by_repo = report.plot(metric="lead_time", by="repository")  # one line per repository
    by_repo.savefig(os.path.join(tempfile.gettempdir(), "dora_lead_time_by_repository.png"), dpi=90)
    print(f"weekly trends saved to {out}")
except ImportError:
    print("matplotlib is not installed: pip install matplotlib")

# %% [markdown]
# ## Save and share: the dataset and the report are plain JSON

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "sample.json")
    data.save(path)
    again = dm.compute(dm.Dataset.load(path), dm.Config(days=90, until=dm.SAMPLE_UNTIL))
    assert again == report  # same values, same config
    print(f"round trip through {os.path.basename(path)}: identical report")
print(report.to_json()[:200], "...")
