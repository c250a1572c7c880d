//! The conformance suite every [`DeliverySource`] should pass: ours and yours.
//!
//! The checks hold a source to the contract written in [`crate::source`]:
//!
//! - **window**: what a narrower window asks for is a part of what a wider one
//!   returns: every pull request merged and every deployment finished inside
//!   the narrow window comes back when asked for the narrow window (a source
//!   may return more than asked, never less); with
//!   [`DeliverySuite::expect`], every event the source is known to hold in the
//!   window comes back;
//! - **de-duplication**: each pull request, deployment and commit once per
//!   repository (by id, id and sha), each environment once per repository;
//! - **stable ids**: two collections of unchanged data return the same events
//!   under the same ids;
//! - **nothing is not an error**: a window with no activity is answered, not
//!   refused;
//! - **typed errors**: a repository that does not exist is
//!   [`SourceError::NotFound`], rejected credentials are [`SourceError::Auth`]
//!   (when the caller can build such sources);
//! - **incremental cursors** ([`check_incremental`], for an
//!   [`IncrementalSource`]): a first sync without a cursor backfills what
//!   `collect` returns for the window; syncing again from the cursor it
//!   returned succeeds, returns a cursor again, and brings nothing that was not
//!   there before while the data is unchanged.
//!
//! The suite takes a *factory* of sources, so every check starts from a fresh
//! source (no cache carried between checks). The checks are plain `async fn`s
//! that panic with a clear message on failure, like `assert!`, so they drop
//! into any async test; the suite needs no runtime of its own.
//!
//! ```
//! use dora_core::conformance::DeliverySuite;
//! use dora_core::{Dataset, MemorySource, TimeRange};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop {
//! #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
//! #     }
//! # }
//! # let t = |d: u32| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 10, d, 0, 0, 0).unwrap();
//! let data = Dataset::new(); // what the source holds
//! let range = TimeRange::new(t(1), t(31));
//! let held = data.clone();
//! block_on(
//!     DeliverySuite::new(move || MemorySource::new(held.clone()), range)
//!         .expect(data)
//!         .run(),
//! );
//! ```

use crate::model::{Commit, Dataset, Deployment, PullRequest, Timestamp};
use crate::source::{CollectRequest, DeliverySource, IncrementalSource, SourceError, TimeRange};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// Builds a fresh source for one check.
type Factory = Box<dyn Fn() -> Box<dyn DeliverySource>>;

/// The delivery-source suite, configured for one source: build it with
/// [`DeliverySuite::new`], say what else the source can show, then
/// [`run`](DeliverySuite::run) it.
pub struct DeliverySuite {
    make: Factory,
    range: TimeRange,
    narrow: Option<TimeRange>,
    expected: Option<Dataset>,
    not_found: Option<Factory>,
    unauthorized: Option<Factory>,
}

impl Debug for DeliverySuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverySuite")
            .field("range", &self.range)
            .field("narrow", &self.narrow)
            .finish_non_exhaustive()
    }
}

fn boxed<S: DeliverySource + 'static>(make: impl Fn() -> S + 'static) -> Factory {
    Box::new(move || Box::new(make()) as Box<dyn DeliverySource>)
}

impl DeliverySuite {
    /// The suite for the sources `make` builds, asked for `range` (a window
    /// in which the source has activity).
    pub fn new<S: DeliverySource + 'static>(
        make: impl Fn() -> S + 'static,
        range: TimeRange,
    ) -> Self {
        Self {
            make: boxed(make),
            range,
            narrow: None,
            expected: None,
            not_found: None,
            unauthorized: None,
        }
    }

    /// The narrower window of the window check (default: the second half of
    /// the range).
    pub fn narrow(mut self, narrow: TimeRange) -> Self {
        self.narrow = Some(narrow);
        self
    }

    /// What the source is known to hold: every pull request merged and every
    /// deployment finished in the range must come back.
    pub fn expect(mut self, data: Dataset) -> Self {
        self.expected = Some(data);
        self
    }

    /// Sources pointed at a repository (or workspace) that does not exist:
    /// they must fail with [`SourceError::NotFound`].
    pub fn not_found<S: DeliverySource + 'static>(
        mut self,
        make: impl Fn() -> S + 'static,
    ) -> Self {
        self.not_found = Some(boxed(make));
        self
    }

    /// Sources with rejected credentials: they must fail with
    /// [`SourceError::Auth`].
    pub fn unauthorized<S: DeliverySource + 'static>(
        mut self,
        make: impl Fn() -> S + 'static,
    ) -> Self {
        self.unauthorized = Some(boxed(make));
        self
    }

    /// Run every check that applies; panics on the first failure.
    pub async fn run(self) {
        let data = check_collect(&*(self.make)(), self.range).await;
        if let Some(expected) = &self.expected {
            check_holds(&data, expected, self.range, "the expected data");
        }
        check_stable_ids(&*(self.make)(), &data, self.range).await;
        let narrow = self.narrow.unwrap_or_else(|| second_half(self.range));
        check_window(&*(self.make)(), &data, narrow).await;
        check_quiet_window(&*(self.make)(), self.range).await;
        if let Some(make) = &self.not_found {
            check_not_found(&*make()).await;
        }
        if let Some(make) = &self.unauthorized {
            check_unauthorized(&*make()).await;
        }
    }
}

fn second_half(range: TimeRange) -> TimeRange {
    TimeRange::new(range.start + (range.end - range.start) / 2, range.end)
}

async fn collect(source: &dyn DeliverySource, range: TimeRange, what: &str) -> Dataset {
    match source.collect(&CollectRequest::new(range)).await {
        Ok(data) => data,
        Err(e) => panic!("{}: collect ({what}) failed: {e}", source.name()),
    }
}

/// Collect `range`: it must succeed and hold each event once. Returns the data.
pub async fn check_collect(source: &dyn DeliverySource, range: TimeRange) -> Dataset {
    let data = collect(source, range, "the range").await;
    assert_deduplicated(source.name(), &data, "collect");
    data
}

/// Panics when `data` holds an event twice (pull requests, deployments and
/// commits by repository and id or sha; environments by repository and name).
pub fn assert_deduplicated(source_name: &str, data: &Dataset, what: &str) {
    let repeated = |kind: &str, keys: Vec<String>| {
        let mut seen = BTreeSet::new();
        let twice: Vec<&String> = keys.iter().filter(|k| !seen.insert(*k)).collect();
        assert!(
            twice.is_empty(),
            "{source_name}: {what} returned {kind} more than once: {twice:?}"
        );
    };
    repeated(
        "pull requests",
        data.pull_requests.iter().map(pr_key).collect(),
    );
    repeated(
        "deployments",
        data.deployments.iter().map(deployment_key).collect(),
    );
    repeated("commits", data.commits.iter().map(commit_key).collect());
    repeated(
        "environments",
        data.environments
            .iter()
            .map(|e| format!("{}/{}", e.repository, e.name))
            .collect(),
    );
}

fn pr_key(p: &PullRequest) -> String {
    format!("{}#{}", p.repository, p.id)
}

fn deployment_key(d: &Deployment) -> String {
    format!("{}/{}", d.repository, d.id)
}

fn commit_key(c: &Commit) -> String {
    format!("{}@{}", c.repository, c.sha)
}

/// The events of `data` that fall in `range`: pull requests merged in it and
/// deployments finished in it, by key.
fn in_window(data: &Dataset, range: TimeRange) -> (BTreeSet<String>, BTreeSet<String>) {
    let inside = |t: Option<Timestamp>| t.is_some_and(|t| range.contains(t));
    (
        data.pull_requests
            .iter()
            .filter(|p| inside(p.merged_at))
            .map(pr_key)
            .collect(),
        data.deployments
            .iter()
            .filter(|d| inside(d.finished_at))
            .map(deployment_key)
            .collect(),
    )
}

fn check_holds(data: &Dataset, expected: &Dataset, range: TimeRange, against: &str) {
    let (want_prs, want_deployments) = in_window(expected, range);
    let have_prs: BTreeSet<String> = data.pull_requests.iter().map(pr_key).collect();
    let have_deployments: BTreeSet<String> = data.deployments.iter().map(deployment_key).collect();
    let missing_prs: Vec<_> = want_prs.difference(&have_prs).collect();
    let missing_deployments: Vec<_> = want_deployments.difference(&have_deployments).collect();
    assert!(
        missing_prs.is_empty() && missing_deployments.is_empty(),
        "events of {against} in {range:?} are missing: pull requests {missing_prs:?}, deployments {missing_deployments:?}"
    );
}

/// Events by key, serialised, so two collections compare whatever the order.
fn by_key(data: &Dataset) -> BTreeMap<String, String> {
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_else(|e| format!("unserialisable: {e}"))
    }
    data.pull_requests
        .iter()
        .map(|p| (format!("pull request {}", pr_key(p)), json(p)))
        .chain(
            data.deployments
                .iter()
                .map(|d| (format!("deployment {}", deployment_key(d)), json(d))),
        )
        .chain(
            data.commits
                .iter()
                .map(|c| (format!("commit {}", commit_key(c)), json(c))),
        )
        .collect()
}

/// Collect `range` again from a fresh source: the same events under the same
/// ids as `first`.
pub async fn check_stable_ids(source: &dyn DeliverySource, first: &Dataset, range: TimeRange) {
    let again = collect(source, range, "a second time").await;
    let (a, b) = (by_key(first), by_key(&again));
    let only_first: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_again: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_first.is_empty() && only_again.is_empty(),
        "{}: ids are not stable across two collections: only in the first {only_first:?}, only in the second {only_again:?}",
        source.name()
    );
    let changed: Vec<_> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        changed.is_empty(),
        "{}: unchanged data collected twice differs for {changed:?}",
        source.name()
    );
}

/// Collect the narrower window `narrow`: every pull request merged and every
/// deployment finished in it that the wider collection `wide` returned comes
/// back, and the result holds each event once.
pub async fn check_window(source: &dyn DeliverySource, wide: &Dataset, narrow: TimeRange) {
    let data = collect(source, narrow, "a narrower window").await;
    assert_deduplicated(source.name(), &data, "collect (narrower window)");
    check_holds(&data, wide, narrow, "the wider window");
}

/// Collect a window long after any activity: an answer (no error), and no
/// pull request merged or deployment finished in it.
pub async fn check_quiet_window(source: &dyn DeliverySource, range: TimeRange) {
    let far = range.end + chrono::Duration::days(365 * 50);
    let quiet = TimeRange::new(far, far + chrono::Duration::days(1));
    let data = collect(source, quiet, "a window with no activity").await;
    let (prs, deployments) = in_window(&data, quiet);
    assert!(
        prs.is_empty() && deployments.is_empty(),
        "{}: a window with no activity returned events in it: {prs:?} {deployments:?}",
        source.name()
    );
}

/// A source pointed at something that does not exist fails with
/// [`SourceError::NotFound`].
pub async fn check_not_found(source: &dyn DeliverySource) {
    let is = |e: &SourceError| matches!(e, SourceError::NotFound { .. });
    check_fails_as(source, "a missing repository", "NotFound", is).await;
}

/// A source with rejected credentials fails with [`SourceError::Auth`].
pub async fn check_unauthorized(source: &dyn DeliverySource) {
    let is = |e: &SourceError| matches!(e, SourceError::Auth { .. });
    check_fails_as(source, "rejected credentials", "Auth", is).await;
}

/// A one-day collection fails with the error `is` recognises (`kind`).
async fn check_fails_as(
    source: &dyn DeliverySource,
    what: &str,
    kind: &str,
    is: impl Fn(&SourceError) -> bool,
) {
    let day = TimeRange::new(
        Timestamp::UNIX_EPOCH,
        Timestamp::UNIX_EPOCH + chrono::Duration::days(1),
    );
    match source.collect(&CollectRequest::new(day)).await {
        Err(e) if is(&e) => {}
        Err(e) => panic!("{}: {what} must be {kind}, got: {e:?}", source.name()),
        Ok(_) => panic!("{}: {what} must be {kind}, got data", source.name()),
    }
}

/// The [`IncrementalSource`] contract on unchanged data, for every scope: a
/// first sync (no cursor) holds each event once and, over all scopes, every
/// pull request merged and deployment finished in `range` that `collected`
/// (the source's `collect` of `range`) holds; a second sync from the returned
/// cursor succeeds, returns a cursor, and brings no event the first did not;
/// a third sync from that cursor succeeds too.
pub async fn check_incremental(
    source: &dyn IncrementalSource,
    range: TimeRange,
    collected: &Dataset,
) {
    let name = source.name().to_string();
    let scopes = match source.scopes().await {
        Ok(s) => s,
        Err(e) => panic!("{name}: listing scopes failed: {e}"),
    };
    assert!(!scopes.is_empty(), "{name}: no scopes to sync");
    let mut backfill = Dataset::new();
    for scope in &scopes {
        let first = match source.sync_scope(scope, range, None).await {
            Ok(d) => d,
            Err(e) => panic!("{name}: first sync of {scope} failed: {e}"),
        };
        assert!(
            !first.cursor.is_empty(),
            "{name}: the first sync of {scope} returned no cursor"
        );
        assert_deduplicated(&name, &first.data, &format!("the first sync of {scope}"));
        let second = match source.sync_scope(scope, range, Some(&first.cursor)).await {
            Ok(d) => d,
            Err(e) => panic!("{name}: sync of {scope} from its cursor failed: {e}"),
        };
        assert!(
            !second.cursor.is_empty(),
            "{name}: the sync of {scope} from its cursor returned no cursor"
        );
        let (before, after) = (by_key(&first.data), by_key(&second.data));
        let new: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        assert!(
            new.is_empty(),
            "{name}: with nothing changed, the sync of {scope} from its cursor brought new events {new:?}"
        );
        if let Err(e) = source.sync_scope(scope, range, Some(&second.cursor)).await {
            panic!("{name}: sync of {scope} from its second cursor failed: {e}");
        }
        backfill.pull_requests.extend(first.data.pull_requests);
        backfill.deployments.extend(first.data.deployments);
    }
    check_holds(&backfill, collected, range, "collect");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_pull_request_is_reported() {
        let t = Timestamp::UNIX_EPOCH;
        let pr = PullRequest::merged(
            "web",
            1,
            crate::Actor::user("1", "Ana"),
            "feature/x",
            "main",
            t,
            t,
            "abc1234",
        );
        let mut data = Dataset::new();
        data.pull_requests.push(pr.clone());
        assert_deduplicated("memory", &data, "collect");
        data.pull_requests.push(pr);
        let caught = std::panic::catch_unwind(|| assert_deduplicated("memory", &data, "collect"));
        assert!(caught.is_err());
    }
}
