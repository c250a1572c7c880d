//! "Nothing is silently lost": the report's `accounting` ledgers and the
//! diagnostics about the dataset's completeness (`skipped_events`,
//! `history_truncated`, `incomplete_sync`, `unmapped_incidents`).
//!
//! The engine classifies every event it reads into a [`Tally`] (used, or
//! excluded for one of [`reasons`]); [`accounting`] then counts what was
//! *fetched* independently (the de-duplicated events plus the items the
//! sources could not convert) and adds the skipped items under their own
//! reasons, so that a ledger that does not balance is a bug, not a rounding.

use crate::diagnostics::{Diagnostic, DiagnosticSeverity as Sev, codes};
use crate::model::{CollectionNotes, Dataset, EventKind, HistoryGap, SkippedEvent};
use crate::report::{Accounting, LeadTimeExclusions, Ledger, reasons};
use std::collections::{BTreeMap, HashSet};

/// How many sample ids a diagnostic names before "and N more".
const SAMPLES: usize = 3;

/// One kind's classification so far: used, or excluded by reason.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    used: usize,
    excluded: BTreeMap<&'static str, usize>,
}

impl Tally {
    /// Count one item used.
    pub(crate) fn used(&mut self) {
        self.used += 1;
    }

    /// Count `n` items used.
    pub(crate) fn used_n(&mut self, n: usize) {
        self.used += n;
    }

    /// Count one item excluded for `reason` (one of [`reasons`]).
    pub(crate) fn exclude(&mut self, reason: &'static str) {
        self.exclude_n(reason, 1);
    }

    /// Count `n` items excluded for `reason` (nothing when `n` is 0).
    pub(crate) fn exclude_n(&mut self, reason: &'static str, n: usize) {
        if n > 0 {
            *self.excluded.entry(reason).or_default() += n;
        }
    }

    /// Add another tally's counts.
    pub(crate) fn add(&mut self, other: &Tally) {
        self.used += other.used;
        for (&reason, &n) in &other.excluded {
            self.exclude_n(reason, n);
        }
    }
}

/// The four kinds' tallies.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tallies {
    pub(crate) pull_requests: Tally,
    pub(crate) deployments: Tally,
    pub(crate) incidents: Tally,
    pub(crate) commits: Tally,
}

impl Tallies {
    /// Add another set of tallies.
    pub(crate) fn add(&mut self, other: &Tallies) {
        self.pull_requests.add(&other.pull_requests);
        self.deployments.add(&other.deployments);
        self.incidents.add(&other.incidents);
        self.commits.add(&other.commits);
    }
}

/// What became of one pull request. The in-window exclusions are the
/// `lead_time.excluded` counts; [`record_pr`] keeps both in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrFate {
    /// A change with a lead time in the window.
    Used,
    /// Open, declined or superseded.
    NotMerged,
    /// Merged state without a merge time.
    MergeTimeUnknown,
    /// Its deployment (or, without one, its merge) is outside the window.
    OutsideWindow,
    /// Authored by a bot.
    Bot,
    /// Merge commit not in the fetched history.
    MergeCommitUnknown,
    /// Merged in the window, not shipped yet.
    NotDeployed,
    /// Shipped by the baseline deployment.
    Baseline,
    /// Branch history not reached by the source.
    HistoryTruncated,
    /// A promotion (gitflow): carries changes with lead times of their own.
    Promotion,
}

/// Count a pull request's fate in the ledger tally and, when it is one of
/// lead time's exclusions, in `lead_time.excluded`.
pub(crate) fn record_pr(fate: PrFate, tally: &mut Tally, excluded: &mut LeadTimeExclusions) {
    let reason = match fate {
        PrFate::Used => {
            tally.used();
            return;
        }
        PrFate::NotMerged => reasons::NOT_MERGED,
        PrFate::MergeTimeUnknown => reasons::MERGE_TIME_UNKNOWN,
        PrFate::OutsideWindow => reasons::OUTSIDE_WINDOW,
        PrFate::Bot => {
            excluded.bots += 1;
            reasons::BOTS
        }
        PrFate::MergeCommitUnknown => {
            excluded.merge_commit_unknown += 1;
            reasons::MERGE_COMMIT_UNKNOWN
        }
        PrFate::NotDeployed => {
            excluded.not_deployed += 1;
            reasons::NOT_DEPLOYED
        }
        PrFate::Baseline => {
            excluded.baseline += 1;
            reasons::BASELINE
        }
        PrFate::HistoryTruncated => {
            excluded.history_truncated += 1;
            reasons::HISTORY_TRUNCATED
        }
        PrFate::Promotion => {
            excluded.promotion += 1;
            reasons::PROMOTION
        }
    };
    tally.exclude(reason);
}

/// Whether a pull request, deployment or incident is listed twice under one
/// id ([`Dataset::dedup`]'s keys). Commits are checked by the commit graph,
/// which sees repeated shas anyway, so the common case costs no extra pass
/// over what is by far the largest list.
pub(crate) fn has_repeated_events(data: &Dataset) -> bool {
    fn repeats<'a, T, K: std::hash::Hash + Eq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> bool {
        let mut seen = HashSet::with_capacity(items.len());
        !items.iter().all(|item| seen.insert(key(item)))
    }
    repeats(&data.pull_requests, |p| (p.repository.as_str(), p.id))
        || repeats(&data.deployments, |d| {
            (d.repository.as_str(), d.id.as_str())
        })
        || repeats(&data.incidents, |i| (i.source.as_str(), i.id.as_str()))
}

fn ledger(fetched: usize, tally: &Tally, skipped: &[&SkippedEvent]) -> Ledger {
    let mut ledger = Ledger {
        fetched: fetched + skipped.len(),
        used: tally.used,
        excluded: BTreeMap::new(),
    };
    for (reason, &n) in &tally.excluded {
        ledger.excluded.insert((*reason).to_string(), n);
    }
    for s in skipped {
        ledger.exclude(&s.reason);
    }
    ledger
}

/// The report's ledgers: `fetched` is counted from `data` (de-duplicated) and
/// its skipped items, `used` and `excluded` from the engine's tallies.
pub(crate) fn accounting(data: &Dataset, tallies: &Tallies) -> Accounting {
    let skipped = |kind: EventKind| -> Vec<&SkippedEvent> {
        data.collection
            .skipped
            .iter()
            .filter(|s| s.kind == kind)
            .collect()
    };
    Accounting {
        pull_requests: ledger(
            data.pull_requests.len(),
            &tallies.pull_requests,
            &skipped(EventKind::PullRequest),
        ),
        deployments: ledger(
            data.deployments.len(),
            &tallies.deployments,
            &skipped(EventKind::Deployment),
        ),
        incidents: ledger(
            data.incidents.len(),
            &tallies.incidents,
            &skipped(EventKind::Incident),
        ),
        commits: ledger(
            data.commits.len(),
            &tallies.commits,
            &skipped(EventKind::Commit),
        ),
    }
}

/// `a, b, c and 2 more`.
pub(crate) fn samples<T: std::fmt::Display>(items: &[T]) -> String {
    let mut text = items
        .iter()
        .take(SAMPLES)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SAMPLES {
        text.push_str(&format!(" and {} more", items.len() - SAMPLES));
    }
    text
}

/// The skipped deployments of one repository, as a phrase (`2 deployment(s)
/// could not be read (missing_status: 2)`), or `None` when there are none.
pub(crate) fn skipped_deployments_phrase(notes: &CollectionNotes, slug: &str) -> Option<String> {
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &notes.skipped {
        if s.kind == EventKind::Deployment && s.scope.as_deref() == Some(slug) {
            *by_reason.entry(s.reason.as_str()).or_default() += 1;
        }
    }
    let total: usize = by_reason.values().sum();
    (total > 0).then(|| {
        let reasons: Vec<String> = by_reason.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        format!(
            "{total} deployment(s) could not be read ({})",
            reasons.join(", ")
        )
    })
}

/// `skipped_events`: one warning per repository named by a skipped item's
/// scope, and one for the rest (incident sources, unknown scope), with counts
/// per kind and reason and a few sample ids.
pub(crate) fn skipped_events(notes: &CollectionNotes, slugs: &[String]) -> Vec<Diagnostic> {
    // scope (a repository in scope, else None) → (kind, reason) → items
    type Groups<'a> =
        BTreeMap<Option<&'a str>, BTreeMap<(EventKind, &'a str), Vec<&'a SkippedEvent>>>;
    let mut groups: Groups = BTreeMap::new();
    for s in &notes.skipped {
        let repo = s
            .scope
            .as_deref()
            .filter(|scope| slugs.iter().any(|slug| slug == scope));
        groups
            .entry(repo)
            .or_default()
            .entry((s.kind, s.reason.as_str()))
            .or_default()
            .push(s);
    }
    let mut out = Vec::new();
    for (repo, by_reason) in groups {
        let total: usize = by_reason.values().map(Vec::len).sum();
        let parts: Vec<String> = by_reason
            .iter()
            .map(|((kind, reason), items)| {
                let ids: Vec<String> = items
                    .iter()
                    .map(|s| match (&s.id, &s.scope, repo) {
                        (Some(id), _, Some(_)) | (Some(id), None, None) => id.clone(),
                        (Some(id), Some(scope), None) => format!("{scope}:{id}"),
                        (None, _, _) => "(no id)".to_string(),
                    })
                    .collect();
                let detail = items
                    .iter()
                    .map(|s| s.detail.as_str())
                    .find(|d| !d.is_empty())
                    .map(|d| format!("; e.g. {d}"))
                    .unwrap_or_default();
                format!(
                    "{} {kind}(s) `{reason}` ({}{detail})",
                    items.len(),
                    samples(&ids)
                )
            })
            .collect();
        let d = Diagnostic::new(
            codes::SKIPPED_EVENTS,
            Sev::Warning,
            format!(
                "{total} item(s) the source fetched could not be read and are left out (counted in `accounting` under their reason): {}",
                parts.join("; ")
            ),
        );
        out.push(match repo {
            Some(slug) => d.for_repository(slug),
            None => d,
        });
    }
    out
}

/// `incomplete_sync`: the repositories whose last sync did not finish.
pub(crate) fn incomplete_sync(notes: &CollectionNotes) -> Option<Diagnostic> {
    (!notes.incomplete_sync.is_empty()).then(|| {
        let mut slugs = notes.incomplete_sync.clone();
        slugs.sort();
        slugs.dedup();
        Diagnostic::new(
            codes::INCOMPLETE_SYNC,
            Sev::Warning,
            format!(
                "the last sync did not finish for {} repositor{} ({}): the store may lack their latest events; run the sync again",
                slugs.len(),
                if slugs.len() == 1 { "y" } else { "ies" },
                slugs.join(", ")
            ),
        )
    })
}

/// `history_truncated` for one repository: the pull requests left out of
/// lead time because their branch history was not reached, and the remedy.
pub(crate) fn history_truncated(slug: &str, prs: &[u64], gaps: &[HistoryGap]) -> Diagnostic {
    let ids: Vec<String> = prs.iter().map(|id| format!("#{id}")).collect();
    let mut remedies: Vec<&str> = gaps
        .iter()
        .filter(|g| g.repository == slug && prs.contains(&g.pull_request))
        .map(|g| g.remedy.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    remedies.sort_unstable();
    remedies.dedup();
    let remedy = if remedies.is_empty() {
        "raise the collection's commit-history cap".to_string()
    } else {
        remedies.join("; ")
    };
    Diagnostic::new(
        codes::HISTORY_TRUNCATED,
        Sev::Warning,
        format!(
            "{} merged pull request(s) are left out of lead time because their branch history was not reached within the collection's cap ({}): to include them, {remedy}",
            prs.len(),
            samples(&ids)
        ),
    )
    .for_repository(slug)
}

/// `unmapped_incidents`: counted incidents whose service the mapping does not
/// name, by service.
pub(crate) fn unmapped_incidents(services: &BTreeMap<String, usize>) -> Option<Diagnostic> {
    let total: usize = services.values().sum();
    (total > 0).then(|| {
        let list: Vec<String> = services.iter().map(|(s, n)| format!("{s} ({n})")).collect();
        Diagnostic::new(
            codes::UNMAPPED_INCIDENTS,
            Sev::Warning,
            format!(
                "{total} counted incident(s) in the window belong to services the service-to-repository mapping does not name: {}; they count in the workspace's incident recovery time but fail no repository's deployments: add the services to the mapping",
                list.join(", ")
            ),
        )
    })
}

/// `store_span`: the report's window reaches outside the span a store's syncs
/// covered, per source and scope (events of the uncovered part are missing).
pub(crate) fn store_span(notes: &CollectionNotes, window: crate::TimeRange) -> Option<Diagnostic> {
    // A sync's window ends at its own clock; allow the report a day past it.
    let slack = chrono::Duration::days(1);
    let mut short: Vec<String> = notes
        .coverage
        .iter()
        .filter(|c| window.start < c.start || window.end > c.end + slack)
        .map(|c| {
            format!(
                "{} {} covers {} to {}",
                c.source,
                c.scope,
                c.start.format("%Y-%m-%d %H:%M"),
                c.end.format("%Y-%m-%d %H:%M")
            )
        })
        .collect();
    if short.is_empty() {
        return None;
    }
    short.sort();
    let n = short.len();
    if n > 5 {
        short.truncate(5);
        short.push(format!("and {} more", n - 5));
    }
    Some(Diagnostic::new(
        codes::STORE_SPAN,
        Sev::Warning,
        format!(
            "the report's window ({} to {}) reaches outside what the store's syncs covered: {}; events outside are missing — run `dora sync` over this window first",
            window.start.format("%Y-%m-%d %H:%M"),
            window.end.format("%Y-%m-%d %H:%M"),
            short.join("; ")
        ),
    ))
}

/// `repositories_departed`: repositories that left the workspace since they
/// were stored (kept in the store, left out of the report).
pub(crate) fn repositories_departed(notes: &CollectionNotes) -> Option<Diagnostic> {
    (!notes.departed.is_empty()).then(|| {
        let mut slugs = notes.departed.clone();
        slugs.sort();
        slugs.dedup();
        Diagnostic::new(
            codes::REPOSITORIES_DEPARTED,
            Sev::Info,
            format!(
                "{} repositor{} left the workspace (deleted or moved) and {} left out of the report; the store keeps {} events: {}",
                slugs.len(),
                if slugs.len() == 1 { "y" } else { "ies" },
                if slugs.len() == 1 { "is" } else { "are" },
                if slugs.len() == 1 { "its" } else { "their" },
                slugs.join(", ")
            ),
        )
    })
}

/// `clock_skew`: items dated after the collecting machine's clock.
pub(crate) fn clock_skew(notes: &CollectionNotes) -> Option<Diagnostic> {
    let first = notes.clock_skew.first()?;
    let ahead = first.dated - first.observed_at;
    let mut items: Vec<String> = notes
        .clock_skew
        .iter()
        .take(5)
        .map(|s| format!("{} {} dated {}", s.scope, s.item, s.dated.to_rfc3339()))
        .collect();
    if notes.clock_skew.len() > 5 {
        items.push(format!("and {} more", notes.clock_skew.len() - 5));
    }
    Some(Diagnostic::new(
        codes::CLOCK_SKEW,
        Sev::Warning,
        format!(
            "{} item(s) are dated after the collecting machine's clock (the first by {} min): the sync cursor was held at the clock so that later changes are still fetched; check the server's or this machine's clock: {}",
            notes.clock_skew.len(),
            ahead.num_minutes(),
            items.join("; ")
        ),
    ))
}

/// `pipelines_without_deployments`: per repository, the CI runs on the
/// production branch the source saw while no production deployment exists.
pub(crate) fn pipelines_without_deployments(notes: &CollectionNotes) -> Vec<Diagnostic> {
    notes
        .pipelines
        .iter()
        .map(|p| {
            Diagnostic::new(
                codes::PIPELINES_WITHOUT_DEPLOYMENTS,
                Sev::Warning,
                format!(
                    "pipelines ran {} time(s) on `{}` in the window (latest {}{}) but no production deployment is recorded: add `deployment: production` to the deploy step of bitbucket-pipelines.yml (pipeline runs are not taken as deployments)",
                    p.runs,
                    p.branch,
                    p.latest_at.format("%Y-%m-%d %H:%M"),
                    p.latest_url
                        .as_deref()
                        .map(|u| format!(", {u}"))
                        .unwrap_or_default()
                ),
            )
            .for_repository(&p.repository)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_name_three_then_count() {
        assert_eq!(samples(&["a", "b"]), "a, b");
        assert_eq!(samples(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
    }

    #[test]
    fn a_ledger_counts_skipped_items_under_their_reason() {
        let mut t = Tally::default();
        t.used();
        t.exclude(reasons::OUTSIDE_WINDOW);
        t.exclude_n(reasons::NOT_MERGED, 0);
        let s = SkippedEvent::new(EventKind::Deployment, None, None, "missing_status", "");
        let l = ledger(2, &t, &[&s, &s]);
        assert_eq!(l.fetched, 4);
        assert_eq!(l.used, 1);
        assert_eq!(l.excluded_for("missing_status"), 2);
        assert_eq!(l.excluded_for(reasons::OUTSIDE_WINDOW), 1);
        assert!(!l.excluded.contains_key(reasons::NOT_MERGED));
        assert!(l.balances());
    }

    #[test]
    fn store_span_warns_outside_the_covered_span_only() {
        use crate::model::Coverage;
        let at =
            |d: u32| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2024, 3, d, 0, 0, 0).unwrap();
        let mut notes = CollectionNotes::default();
        notes.coverage.push(Coverage {
            source: "bitbucket".into(),
            scope: "web".into(),
            start: at(1),
            end: at(31),
        });
        let inside = crate::TimeRange::new(at(2), at(30));
        assert!(super::store_span(&notes, inside).is_none());
        let earlier = crate::TimeRange::new(at(1) - chrono::Duration::days(7), at(30));
        let d = super::store_span(&notes, earlier).expect("warns");
        assert_eq!(d.code, codes::STORE_SPAN);
        assert!(
            d.message.contains("bitbucket web covers 2024-03-01"),
            "{}",
            d.message
        );
        // A fresh collection records no coverage: nothing to warn about.
        assert!(super::store_span(&CollectionNotes::default(), earlier).is_none());
    }

    #[test]
    fn departed_and_clock_skew_name_what_they_saw() {
        use crate::model::ClockSkew;
        let mut notes = CollectionNotes::default();
        assert!(super::repositories_departed(&notes).is_none());
        assert!(super::clock_skew(&notes).is_none());
        notes.departed = vec!["old-api".into()];
        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 2, 0, 0, 0).unwrap();
        notes.clock_skew.push(ClockSkew {
            scope: "web".into(),
            item: "pull request #7 updated_on".into(),
            dated: now + chrono::Duration::hours(2),
            observed_at: now,
        });
        let d = super::repositories_departed(&notes).expect("departed");
        assert!(d.message.contains("old-api"), "{}", d.message);
        let d = super::clock_skew(&notes).expect("skew");
        assert!(
            d.message.contains("by 120 min") && d.message.contains("#7"),
            "{}",
            d.message
        );
    }
}
