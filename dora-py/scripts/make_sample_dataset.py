"""Generate python/dora_metrics/data/sample_dataset.json (deterministic).

Two repositories, ``payments-api`` (production deployments through Bitbucket
Pipelines) and ``web-app`` (no deployments: the merge fallback), about 120
days of history ending 2026-11-01, with the situations a real workspace has:
reviewed and unreviewed PRs, a Renovate bot, a failed deployment re-run, a
revert, a hotfix, a rollback and PagerDuty incidents of several severities.

    python dora-py/scripts/make_sample_dataset.py
"""

from __future__ import annotations

import hashlib
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

import dora_metrics as dm  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
START = END - timedelta(days=120)
rng = random.Random(20261101)
PEOPLE = [("u-ana", "Ana Souza"), ("u-ben", "Ben Okafor"), ("u-chen", "Chen Wei"), ("u-dora", "Dora Novak")]
BOT = {"id": "u-renovate", "display_name": "renovate[bot]", "kind": "bot"}


def sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


def person() -> dict[str, str]:
    pid, name = rng.choice(PEOPLE)
    return {"id": pid, "display_name": name, "kind": "user"}


commits: list[dict] = []
prs: list[dict] = []
deployments: list[dict] = []
incidents: list[dict] = []


class Repo:
    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.tip = sha(slug, "root")
        self.pr_id = 0
        commits.append(
            dict(repository=slug, sha=self.tip, parents=[], authored_at=START - timedelta(days=30), message="Initial commit")
        )

    def pr(self, merged_at: datetime, *, branch: str | None = None, author: dict | None = None,
           reviewed: bool = True, message: str | None = None, title: str | None = None) -> dict:
        self.pr_id += 1
        n = self.pr_id
        author = author or person()
        bot = author.get("kind") == "bot"
        review_h = 0.0 if bot else rng.uniform(1, 20)
        merge_h = 0.0 if bot else rng.uniform(0.5, 18)
        created = merged_at - timedelta(hours=review_h + merge_h + (0.1 if bot else 0))
        first_review = created + timedelta(hours=review_h) if reviewed and not bot else None
        branch = branch or (f"renovate/deps-{n}" if bot else f"feature/{self.slug[:3]}-{n}")
        own: list[str] = []
        parent = self.tip
        t = created - timedelta(hours=0.2 if bot else rng.uniform(2, 60))
        for k in range(1 if bot else rng.randint(1, 4)):
            c = sha(self.slug, n, k)
            msg = message if (message and k == 0) else f"{title or branch}: part {k + 1}"
            commits.append(dict(repository=self.slug, sha=c, parents=[parent], authored_at=t.isoformat(),
                                author=author, message=msg))
            own.append(c)
            parent = c
            t += timedelta(hours=rng.uniform(0.5, 6))
        merge = sha(self.slug, n, "merge")
        commits.append(dict(repository=self.slug, sha=merge, parents=[self.tip, parent], authored_at=merged_at.isoformat(),
                            author=author, message=f"Merged in {branch} (pull request #{n})"))
        self.tip = merge
        pr = dict(repository=self.slug, id=n, title=title or branch.split("/")[-1].replace("-", " "), author=author,
                  source_branch=branch, destination_branch="main", state="merged", created_at=created.isoformat(),
                  first_review_at=first_review.isoformat() if first_review else None,
                  merged_at=merged_at.isoformat(), merge_commit=merge[:12], commits=own)
        prs.append(pr)
        return pr

    def deploy(self, at: datetime, status: str = "succeeded", commit: str | None = None, env: str = "production") -> str:
        did = f"{self.slug}-{env}-{len(deployments) + 1}"
        deployments.append(dict(repository=self.slug, id=did, environment=env,
                                environment_kind="production" if env == "production" else "staging",
                                commit=commit or self.tip, started_at=(at - timedelta(minutes=9)).isoformat(),
                                finished_at=at.isoformat(), status=status))
        return did


# payments-api: deploys most working days at 15:00, with incidents of its own.
api = Repo("payments-api")
api.deploy(START - timedelta(days=20))  # the baseline: what was live before the window
history: list[str] = []
day = START
scenario_day = {30: "failed", 40: "revert", 50: "hotfix", 60: "rollback", 70: "incident"}
i = 0
while day < END - timedelta(days=1):
    day += timedelta(days=1)
    if day.weekday() >= 5:
        continue
    i += 1
    for _ in range(rng.choice([0, 1, 1, 2])):
        api.pr(day + timedelta(hours=rng.uniform(9, 14)))
    if i % 9 == 0:
        api.pr(day + timedelta(hours=10), author=BOT, title="Update dependency serde to v1.0.228")
    deploy_at = day + timedelta(hours=15)
    kind = scenario_day.get(i)
    if kind == "failed":
        api.deploy(deploy_at - timedelta(hours=1), env="staging")
        api.deploy(deploy_at, status="failed")
        api.deploy(deploy_at + timedelta(hours=2))  # re-run succeeds
    elif kind == "revert":
        bad = api.pr(day + timedelta(hours=11), title="Cache exchange rates")
        api.deploy(deploy_at)
        revert_of = bad["merge_commit"]
        api.pr(day + timedelta(hours=19), branch="bugfix/revert-rates-cache", title='Revert "Cache exchange rates"',
               message=f'Revert "Cache exchange rates"\n\nThis reverts commit {revert_of}.')
        api.deploy(day + timedelta(hours=20))
    elif kind == "hotfix":
        api.deploy(deploy_at)
        api.pr(day + timedelta(hours=21), branch="hotfix/refund-rounding", title="Fix refund rounding")
        api.deploy(day + timedelta(hours=22))
    elif kind == "rollback":
        previous = deployments[-1]["commit"]
        api.pr(day + timedelta(hours=12), title="New payment provider client")
        api.deploy(deploy_at)
        api.deploy(deploy_at + timedelta(hours=3), commit=previous)  # roll back
        api.deploy(deploy_at + timedelta(days=1, hours=1))  # fixed forward next day
        day += timedelta(days=1)
    elif kind == "incident":
        api.deploy(deploy_at)
        opened = deploy_at + timedelta(hours=2)
        incidents.append(dict(id="PD-Q7KT2", source="pagerduty", title="Checkout latency above SLO",
                              service="payments-api", severity="P1", raw_severity="P1", opened_at=opened.isoformat(),
                              resolved_at=(opened + timedelta(hours=3, minutes=20)).isoformat(), status="resolved", repositories=["payments-api"]))
    elif rng.random() < 0.75:
        api.deploy(deploy_at - timedelta(hours=1), env="staging")
        api.deploy(deploy_at)

# Incidents not tied to a deployment: a P2 resolved, a P3 (filtered out), one still open.
for k, (sev, days_ago, hours) in enumerate([("P2", 75, 5.5), ("P3", 60, 1.0), ("P2", 33, 26.0), ("P4", 20, 0.5)]):
    opened = END - timedelta(days=days_ago, hours=-3)
    incidents.append(dict(id=f"PD-{k:03d}X", source="pagerduty", title=f"Alert cluster {k}", service="payments-api",
                          severity=sev, raw_severity=sev, opened_at=opened.isoformat(),
                          resolved_at=(opened + timedelta(hours=hours)).isoformat(), status="resolved",
                          repositories=["payments-api"]))
incidents.append(dict(id="PD-OPEN1", source="pagerduty", title="Webhook deliveries delayed", service="payments-api",
                      severity="P2", raw_severity="high", opened_at=(END - timedelta(days=2)).isoformat(),
                      status="acknowledged", repositories=["payments-api"]))

# web-app: no deployment environment at all; merges to main are the deployments.
web = Repo("web-app")
day = START
while day < END - timedelta(days=1):
    day += timedelta(days=1)
    if day.weekday() < 5 and rng.random() < 0.6:
        web.pr(day + timedelta(hours=rng.uniform(9, 17)), reviewed=rng.random() < 0.85)

data = dm.Dataset(
    repositories=[{"slug": "payments-api", "main_branch": "main"}, {"slug": "web-app", "main_branch": "main"}],
    environments=[
        {"repository": "payments-api", "name": "staging", "kind": "staging"},
        {"repository": "payments-api", "name": "production", "kind": "production"},
    ],
    commits=commits,
    pull_requests=prs,
    deployments=deployments,
    incidents=incidents,
)
out = HERE.parent / "python" / "dora_metrics" / "data" / "sample_dataset.json"
data.save(out, pretty=True)
print(f"wrote {out}: {data.counts()}")
