//! What keeps a store equal to a fresh collection when the world changes
//! between syncs (schema version 5):
//!
//! - **Rewritten history.** A batch naming a repository in
//!   `collection.rewritten` holds its whole current history: every stored
//!   commit of that repository from the batch's oldest commit on that the
//!   batch does not hold is marked `unreachable_since` and left out of loads
//!   (kept for audit). A commit that comes back is reachable again.
//! - **Scopes by identity.** `sync_scopes` records each scope's stable id (a
//!   repository's uuid). A scope listed under a new name with a known id is a
//!   rename: its rows move to the new name. A stored scope missing from an
//!   exhaustive listing has *departed*: its events stay in the store and out of
//!   loads, and `collection.departed` names it.
//! - **Spans.** `sync_spans` records the span each scope's syncs covered; a load
//!   puts them in `collection.coverage`, and a report over a wider window warns
//!   `store_span`.
//! - **Clock skew.** Items dated after the syncing machine's clock, per scope,
//!   as the latest sync of the scope saw them.
//! - **Pipeline runs** on a production branch without production deployments
//!   (`pipelines_without_deployments`), as the latest sync saw them.

use crate::backend::{DbError, Exec, vals};
use crate::{INCIDENT_SCOPE, opt_text, text, time_col, ts};
use chrono::Utc;
use dora_core::{
    ClockSkew, CollectionNotes, Coverage, Dataset, PipelineRuns, ScopeList, TimeRange,
};
use std::collections::{BTreeSet, HashMap};

/// The repository slug of a delivery scope (`workspace/slug`), or the scope.
pub(crate) fn scope_slug(scope: &str) -> &str {
    scope.rsplit('/').next().unwrap_or(scope)
}

/// Tables whose rows belong to one repository, by the column naming it.
const REPOSITORY_TABLES: &[(&str, &str)] = &[
    ("commits", "repository"),
    ("pull_requests", "repository"),
    ("environments", "repository"),
    ("deployments", "repository"),
    ("history_gaps", "repository"),
    ("skipped_events", "scope"),
    ("clock_skews", "scope"),
    ("pipeline_runs", "repository"),
];

/// Mark the commits a rewritten repository's batch no longer holds; called
/// before the batch's commits are upserted (which clears the mark of every
/// commit they hold).
pub(crate) fn mark_rewritten(tx: &mut dyn Exec, data: &Dataset) -> Result<(), DbError> {
    let now = ts(Utc::now());
    for slug in &data.collection.rewritten {
        let oldest = data
            .commits
            .iter()
            .filter(|c| &c.repository == slug)
            .map(|c| c.committed_at)
            .min();
        match oldest {
            // (Text comparison of timestamps is exact to the second: start a
            // second early.)
            Some(oldest) => tx.exec(
                "UPDATE commits SET unreachable_since = ?1
                 WHERE repository = ?2 AND unreachable_since IS NULL AND committed_at >= ?3",
                vals![&now, slug, ts(oldest - chrono::Duration::seconds(1))],
            )?,
            None => tx.exec(
                "UPDATE commits SET unreachable_since = ?1 WHERE repository = ?2 AND unreachable_since IS NULL",
                vals![&now, slug],
            )?,
        };
    }
    Ok(())
}

/// Widen the span a scope's syncs covered by `range`.
pub(crate) fn extend_span(
    tx: &mut dyn Exec,
    source: &str,
    scope: &str,
    range: TimeRange,
) -> Result<(), DbError> {
    let current = tx.rows(
        "SELECT span_start, span_end FROM sync_spans WHERE source = ?1 AND scope = ?2",
        vals![source, scope],
    )?;
    let (mut start, mut end) = (range.start, range.end);
    if let Some(r) = current.first() {
        start = start.min(time_col(r, 0)?);
        end = end.max(time_col(r, 1)?);
    }
    tx.exec(
        "INSERT INTO sync_spans (source, scope, span_start, span_end) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (source, scope) DO UPDATE SET span_start = excluded.span_start, span_end = excluded.span_end",
        vals![source, scope, ts(start), ts(end)],
    )?;
    Ok(())
}

/// The span a scope's syncs covered.
pub(crate) fn span(
    db: &mut dyn Exec,
    source: &str,
    scope: &str,
) -> Result<Option<TimeRange>, DbError> {
    let rows = db.rows(
        "SELECT span_start, span_end FROM sync_spans WHERE source = ?1 AND scope = ?2",
        vals![source, scope],
    )?;
    rows.first()
        .map(|r| Ok(TimeRange::new(time_col(r, 0)?, time_col(r, 1)?)))
        .transpose()
}

/// Replace the clock-skew notes and pipeline-run evidence of the batch's
/// repositories with the batch's (the latest sync of a repository says).
pub(crate) fn upsert_repository_notes(tx: &mut dyn Exec, data: &Dataset) -> Result<(), DbError> {
    for r in &data.repositories {
        tx.exec("DELETE FROM clock_skews WHERE scope = ?1", vals![&r.slug])?;
        tx.exec(
            "DELETE FROM pipeline_runs WHERE repository = ?1",
            vals![&r.slug],
        )?;
    }
    for p in &data.collection.pipelines {
        tx.exec(
            "INSERT INTO pipeline_runs (repository, branch, runs, latest_at, latest_url) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (repository) DO UPDATE SET branch = excluded.branch, runs = excluded.runs,
               latest_at = excluded.latest_at, latest_url = excluded.latest_url",
            vals![&p.repository, &p.branch, i64::from(p.runs), ts(p.latest_at), p.latest_url.as_ref()],
        )?;
    }
    for s in &data.collection.clock_skew {
        tx.exec(
            "INSERT INTO clock_skews (scope, item, dated, observed_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope, item) DO UPDATE SET dated = excluded.dated, observed_at = excluded.observed_at",
            vals![&s.scope, &s.item, ts(s.dated), ts(s.observed_at)],
        )?;
    }
    Ok(())
}

/// What reconciling the scopes changed ([`crate::Store::reconcile_scopes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScopeChanges {
    /// Scopes renamed, `(old, new)`: their rows now carry the new name.
    pub renamed: Vec<(String, String)>,
    /// Scopes that left (missing from an exhaustive listing).
    pub departed: Vec<String>,
}

/// Bring the stored scopes of `source` in line with a fresh listing: follow
/// renames by id, mark departures (exhaustive listings only), record ids.
pub(crate) fn reconcile(
    tx: &mut dyn Exec,
    source: &str,
    list: &ScopeList,
) -> Result<ScopeChanges, DbError> {
    let mut changes = ScopeChanges::default();
    let stored = tx.rows(
        "SELECT scope, scope_id FROM sync_scopes WHERE source = ?1",
        vals![source],
    )?;
    let mut by_id: HashMap<String, String> = HashMap::new();
    for r in &stored {
        if let Some(id) = opt_text(r, 1)? {
            by_id.insert(id, text(r, 0)?);
        }
    }
    for scope in &list.scopes {
        let Some(id) = &scope.id else { continue };
        if let Some(old) = by_id.get(id).filter(|old| **old != scope.name) {
            rename(tx, source, old, &scope.name)?;
            changes.renamed.push((old.clone(), scope.name.clone()));
        }
    }
    for scope in &list.scopes {
        tx.exec(
            "INSERT INTO sync_scopes (source, scope, scope_id, departed_at) VALUES (?1, ?2, ?3, NULL)
             ON CONFLICT (source, scope) DO UPDATE SET scope_id = COALESCE(excluded.scope_id, sync_scopes.scope_id),
               departed_at = NULL",
            vals![source, &scope.name, scope.id.as_ref()],
        )?;
    }
    if list.exhaustive {
        let listed: BTreeSet<&str> = list.scopes.iter().map(|s| s.name.as_str()).collect();
        // Every scope this source ever stored a cursor for counts as stored.
        let known = tx.rows(
            "SELECT scope FROM sync_cursors WHERE source = ?1 UNION SELECT scope FROM sync_scopes WHERE source = ?1",
            vals![source],
        )?;
        let now = ts(Utc::now());
        for r in &known {
            let scope = text(r, 0)?;
            if scope == INCIDENT_SCOPE || listed.contains(scope.as_str()) {
                continue;
            }
            tx.exec(
                "INSERT INTO sync_scopes (source, scope, scope_id, departed_at) VALUES (?1, ?2, NULL, ?3)
                 ON CONFLICT (source, scope) DO UPDATE SET departed_at = COALESCE(sync_scopes.departed_at, excluded.departed_at)",
                vals![source, &scope, &now],
            )?;
            changes.departed.push(scope);
        }
    }
    Ok(changes)
}

/// Move every row of scope `old` to `new` (a repository renamed). Rows the
/// new name already holds win; the old name's copies of them are dropped.
fn rename(tx: &mut dyn Exec, source: &str, old: &str, new: &str) -> Result<(), DbError> {
    let (old_slug, new_slug) = (scope_slug(old), scope_slug(new));
    let already = !tx
        .rows(
            "SELECT 1 FROM sync_cursors WHERE source = ?1 AND scope = ?2",
            vals![source, new],
        )?
        .is_empty();
    for (table, column) in REPOSITORY_TABLES {
        if already {
            tx.exec(
                &format!("DELETE FROM {table} WHERE {column} = ?1"),
                vals![old_slug],
            )?;
        } else {
            tx.exec(
                &format!("UPDATE {table} SET {column} = ?2 WHERE {column} = ?1"),
                vals![old_slug, new_slug],
            )?;
        }
    }
    if already {
        tx.exec("DELETE FROM repositories WHERE slug = ?1", vals![old_slug])?;
    } else {
        tx.exec(
            "UPDATE repositories SET slug = ?2 WHERE slug = ?1",
            vals![old_slug, new_slug],
        )?;
    }
    for table in ["sync_cursors", "sync_spans", "sync_progress", "sync_leases"] {
        if already {
            tx.exec(
                &format!("DELETE FROM {table} WHERE source = ?1 AND scope = ?2"),
                vals![source, old],
            )?;
        } else {
            tx.exec(
                &format!("UPDATE {table} SET scope = ?3 WHERE source = ?1 AND scope = ?2"),
                vals![source, old, new],
            )?;
        }
    }
    tx.exec(
        "DELETE FROM sync_scopes WHERE source = ?1 AND scope = ?2",
        vals![source, old],
    )?;
    Ok(())
}

/// The repositories that departed, by slug.
pub(crate) fn departed(db: &mut dyn Exec) -> Result<BTreeSet<String>, DbError> {
    db.rows(
        "SELECT scope FROM sync_scopes WHERE departed_at IS NOT NULL",
        &[],
    )?
    .iter()
    .map(|r| Ok(scope_slug(&text(r, 0)?).to_string()))
    .collect()
}

/// Coverage, departures and clock skews into `notes`; the departed
/// repositories' events out of `data`.
pub(crate) fn load_into(db: &mut dyn Exec, data: &mut Dataset) -> Result<(), DbError> {
    let departed = departed(db)?;
    let gone = |slug: &String| departed.contains(slug);
    if !departed.is_empty() {
        data.repositories.retain(|r| !gone(&r.slug));
        data.commits.retain(|c| !gone(&c.repository));
        data.pull_requests.retain(|p| !gone(&p.repository));
        data.environments.retain(|e| !gone(&e.repository));
        data.deployments.retain(|d| !gone(&d.repository));
    }
    let notes: &mut CollectionNotes = &mut data.collection;
    notes.departed = departed.iter().cloned().collect();
    notes.history_truncated.retain(|g| !gone(&g.repository));
    notes
        .skipped
        .retain(|e| e.scope.as_ref().is_none_or(|scope| !gone(scope)));
    notes.incomplete_sync.retain(|s| !gone(s));
    for r in &db.rows(
        "SELECT source, scope, span_start, span_end FROM sync_spans ORDER BY source, scope",
        &[],
    )? {
        let scope = text(r, 1)?;
        let scope = scope_slug(&scope).to_string();
        if gone(&scope) {
            continue;
        }
        notes.coverage.push(Coverage {
            source: text(r, 0)?,
            scope,
            start: time_col(r, 2)?,
            end: time_col(r, 3)?,
        });
    }
    for r in &db.rows(
        "SELECT scope, item, dated, observed_at FROM clock_skews ORDER BY scope, item",
        &[],
    )? {
        if gone(&text(r, 0)?) {
            continue;
        }
        notes.clock_skew.push(ClockSkew {
            scope: text(r, 0)?,
            item: text(r, 1)?,
            dated: time_col(r, 2)?,
            observed_at: time_col(r, 3)?,
        });
    }
    for r in &db.rows(
        "SELECT repository, branch, runs, latest_at, latest_url FROM pipeline_runs ORDER BY repository",
        &[],
    )? {
        let repository = text(r, 0)?;
        if gone(&repository) {
            continue;
        }
        notes.pipelines.push(PipelineRuns {
            repository,
            branch: text(r, 1)?,
            runs: u32::try_from(crate::int(r, 2)?).unwrap_or(0),
            latest_at: time_col(r, 3)?,
            latest_url: opt_text(r, 4)?,
        });
    }
    Ok(())
}
