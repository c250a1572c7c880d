//! Normalisation settings shared by every adapter: severity overrides by name
//! and the mapping from services, teams and tags to repositories.
//!
//! Both are plain data (serde), so a CLI or a Python binding can load them from
//! TOML or keyword arguments:
//!
//! ```toml
//! [severities]          # raw name (case-insensitive) → normalised severity
//! "SEV-1" = "P1"
//! high = "P1"           # PagerDuty urgency, when an incident has no priority
//! Minor = "P4"          # an incident.io severity name
//!
//! [repositories.services]   # service id or name → repository slugs
//! checkout-web = ["checkout", "payments-lib"]
//! [repositories.teams]
//! Payments = ["payments-api"]
//! [repositories.tags]
//! "service:search-api" = ["search"]
//! ```

use dora_core::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Overrides of a tool's default severity mapping, keyed by the raw value the
/// tool reports (PagerDuty priority name or urgency, Opsgenie priority,
/// incident.io severity name). Keys match case-insensitively, ignoring
/// surrounding whitespace. An override always wins over the default mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeverityOverrides {
    entries: BTreeMap<String, Severity>,
}

impl SeverityOverrides {
    /// No overrides: every tool's default mapping applies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an override (builder style).
    pub fn with(mut self, raw: impl Into<String>, severity: Severity) -> Self {
        self.insert(raw, severity);
        self
    }

    /// Add or replace an override.
    pub fn insert(&mut self, raw: impl Into<String>, severity: Severity) {
        let raw = raw.into();
        // Keep one entry per case-insensitive key so lookups are unambiguous.
        self.entries
            .retain(|k, _| !k.trim().eq_ignore_ascii_case(raw.trim()));
        self.entries.insert(raw, severity);
    }

    /// The override for `raw`, if any.
    pub fn get(&self, raw: &str) -> Option<Severity> {
        let raw = raw.trim();
        self.entries
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(raw))
            .map(|(_, v)| *v)
    }

    /// Whether there are no overrides.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What an incident is known by, for [`RepositoryMapping`]: the ids and names
/// of its services and teams, and its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingKeys {
    /// Service ids and names.
    pub services: Vec<String>,
    /// Team ids and names.
    pub teams: Vec<String>,
    /// Tags (and, for incident.io, custom-field values and the incident type).
    pub tags: Vec<String>,
}

/// A configurable mapping from services, teams and tags to repository slugs; it
/// fills [`dora_core::Incident::repositories`]. An incident's repositories are
/// the union over every key that matches (case-insensitively, on an id or a
/// name). With no match the list stays empty, which the core reads as "any
/// repository in scope".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepositoryMapping {
    /// Service id or name → repository slugs.
    pub services: BTreeMap<String, Vec<String>>,
    /// Team id or name → repository slugs.
    pub teams: BTreeMap<String, Vec<String>>,
    /// Tag → repository slugs.
    pub tags: BTreeMap<String, Vec<String>>,
}

impl RepositoryMapping {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Map a service (id or name) to repositories.
    pub fn service<I, S>(mut self, service: impl Into<String>, repositories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.services, service.into(), repositories);
        self
    }

    /// Map a team (id or name) to repositories.
    pub fn team<I, S>(mut self, team: impl Into<String>, repositories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.teams, team.into(), repositories);
        self
    }

    /// Map a tag to repositories.
    pub fn tag<I, S>(mut self, tag: impl Into<String>, repositories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add(&mut self.tags, tag.into(), repositories);
        self
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.teams.is_empty() && self.tags.is_empty()
    }

    /// The repositories for an incident known by `keys`: sorted, without duplicates.
    pub fn repositories_for(&self, keys: &MappingKeys) -> Vec<String> {
        let mut out = Vec::new();
        for (table, values) in [
            (&self.services, &keys.services),
            (&self.teams, &keys.teams),
            (&self.tags, &keys.tags),
        ] {
            for (key, repos) in table {
                if values
                    .iter()
                    .any(|v| v.trim().eq_ignore_ascii_case(key.trim()))
                {
                    out.extend(repos.iter().cloned());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn add<I, S>(table: &mut BTreeMap<String, Vec<String>>, key: String, repositories: I)
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    table
        .entry(key)
        .or_default()
        .extend(repositories.into_iter().map(Into::into));
}

/// Everything that shapes normalisation, shared by the three adapters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Normalization {
    /// Severity overrides by raw name.
    pub severities: SeverityOverrides,
    /// Services / teams / tags → repositories.
    pub repositories: RepositoryMapping,
}

impl Normalization {
    /// Parse from TOML (see the module docs for the shape); unknown keys are
    /// errors, so a typo cannot pass silently.
    pub fn from_toml(text: &str) -> Result<Self, dora_core::SourceError> {
        toml::from_str(text).map_err(|e| dora_core::SourceError::Config {
            source_name: "incidents".into(),
            message: format!("normalisation config: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_case_insensitive_and_replace() {
        let mut o = SeverityOverrides::new()
            .with("SEV-1", Severity::P1)
            .with("high", Severity::P3);
        assert_eq!(o.get(" sev-1 "), Some(Severity::P1));
        assert_eq!(o.get("HIGH"), Some(Severity::P3));
        assert_eq!(o.get("low"), None);
        o.insert("High", Severity::P1);
        assert_eq!(o.get("high"), Some(Severity::P1));
        assert!(!o.is_empty());
    }

    #[test]
    fn mapping_unions_services_teams_and_tags() {
        let m = RepositoryMapping::new()
            .service("checkout-web", ["checkout"])
            .service("PSVC002", ["search"])
            .team("Payments", ["payments-api", "checkout"])
            .tag("env:prod", ["infra"]);
        let keys = MappingKeys {
            services: vec!["PSVC001".into(), "Checkout-Web".into()],
            teams: vec!["payments".into()],
            tags: vec!["service:checkout-web".into()],
        };
        assert_eq!(m.repositories_for(&keys), vec!["checkout", "payments-api"]);
        assert!(m.repositories_for(&MappingKeys::default()).is_empty());
        assert!(RepositoryMapping::new().is_empty());
    }

    #[test]
    fn loads_from_toml_and_rejects_unknown_keys() {
        let n = Normalization::from_toml(
            r#"
            [severities]
            "SEV-1" = "P1"
            Minor = "P4"
            [repositories.services]
            checkout-web = ["checkout"]
            [repositories.tags]
            "service:search-api" = ["search"]
            "#,
        )
        .expect("valid config");
        assert_eq!(n.severities.get("sev-1"), Some(Severity::P1));
        assert_eq!(n.severities.get("minor"), Some(Severity::P4));
        assert_eq!(n.repositories.services["checkout-web"], vec!["checkout"]);
        let err =
            Normalization::from_toml("[repositories.servcies]\nx = [\"y\"]\n").expect_err("typo");
        assert!(err.to_string().contains("servcies"), "{err}");
    }
}
