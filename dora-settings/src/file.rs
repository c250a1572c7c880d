//! `dora.toml`: every [`dora_core::Config`] knob at the top level, plus the
//! `[sources]`, `[http]` and `[sync]` sections (see the crate docs for an
//! example). Unknown keys are errors naming the key; credentials are never read
//! from the file.

use chrono::{DateTime, Utc};
use dora_core::{Config, Severity};
use dora_incidents::{IncidentTool, OpsgenieApi, OpsgenieRegion, SeverityOverrides};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `[sources]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// Bitbucket workspace slug.
    pub workspace: Option<String>,
    /// Repository slugs; all of the workspace's when empty.
    #[serde(default)]
    pub repos: Vec<String>,
    /// Incident tool.
    pub incidents: Option<IncidentTool>,
    /// Bitbucket API base URL.
    pub bitbucket_url: Option<String>,
    /// PagerDuty API base URL.
    pub pagerduty_url: Option<String>,
    /// Opsgenie API base URL.
    pub opsgenie_url: Option<String>,
    /// incident.io API base URL.
    pub incidentio_url: Option<String>,
    /// Which repositories an incident belongs to, by service, team or tag
    /// (`[sources.mapping.services]` etc.); unmapped incidents count against
    /// every repository in scope.
    #[serde(default)]
    pub mapping: dora_incidents::RepositoryMapping,
    /// `[sources.severity_overrides]`: raw severity name (a PagerDuty priority
    /// or urgency, an Opsgenie priority, an incident.io severity) → `P1`..`P5`,
    /// winning over the tool's default mapping.
    #[serde(default)]
    pub severity_overrides: BTreeMap<String, Severity>,
    /// `[sources.bitbucket]`: Bitbucket knobs.
    #[serde(default)]
    pub bitbucket: BitbucketSettings,
    /// `[sources.pagerduty]`: PagerDuty knobs.
    #[serde(default)]
    pub pagerduty: PagerDutySettings,
    /// `[sources.opsgenie]`: Opsgenie knobs.
    #[serde(default)]
    pub opsgenie: OpsgenieSettings,
    /// `[sources.jsm]`: where the JSM Operations alerts are.
    #[serde(default)]
    pub jsm: JsmSettings,
}

/// `[sources.jsm]`: one of `url`, `cloud_id` or `site` (none are secrets;
/// the credentials still come only from the environment). `JSM_CLOUD_ID` and
/// `JSM_SITE` in the environment win over `cloud_id` and `site` here;
/// `--jsm-url` wins over `url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsmSettings {
    /// The API base up to and including the cloud id
    /// (`https://api.atlassian.com/jsm/ops/api/<cloud-id>`).
    pub url: Option<String>,
    /// The site's cloud id.
    pub cloud_id: Option<String>,
    /// The site (`acme.atlassian.net`), whose cloud id is discovered.
    pub site: Option<String>,
}

/// `[sources.bitbucket]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitbucketSettings {
    /// Pages of 100 commits the production-branch walk may read per
    /// repository; pull requests whose history lies beyond it are counted in
    /// `lead_time.excluded.history_truncated`.
    pub max_commit_pages: Option<usize>,
}

/// `[sources.pagerduty]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySettings {
    /// Only incidents of these service ids (default: every service).
    #[serde(default)]
    pub service_ids: Vec<String>,
}

/// Which Opsgenie API incidents come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpsgenieApiChoice {
    /// Alerts (`/v2/alerts`, every plan): the default.
    #[default]
    Alerts,
    /// Incidents (`/v1/incidents`, Standard and Enterprise plans).
    Incidents,
}

impl OpsgenieApiChoice {
    /// The names flags and the file use.
    pub const NAMES: [&'static str; 2] = ["alerts", "incidents"];

    /// The adapter's value.
    pub fn api(self) -> OpsgenieApi {
        match self {
            Self::Alerts => OpsgenieApi::Alerts,
            Self::Incidents => OpsgenieApi::Incidents,
        }
    }
}

impl std::str::FromStr for OpsgenieApiChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "alerts" => Ok(Self::Alerts),
            "incidents" => Ok(Self::Incidents),
            other => Err(format!("{other:?} is not \"alerts\" or \"incidents\"")),
        }
    }
}

/// Opsgenie's region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpsgenieRegionChoice {
    /// `https://api.opsgenie.com`: the default.
    #[default]
    Us,
    /// `https://api.eu.opsgenie.com`.
    Eu,
}

impl OpsgenieRegionChoice {
    /// The names flags, the file and Python use.
    pub const NAMES: [&'static str; 2] = ["us", "eu"];

    /// The adapter's value.
    pub fn region(self) -> OpsgenieRegion {
        match self {
            Self::Us => OpsgenieRegion::Us,
            Self::Eu => OpsgenieRegion::Eu,
        }
    }
}

impl std::str::FromStr for OpsgenieRegionChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "us" => Ok(Self::Us),
            "eu" => Ok(Self::Eu),
            other => Err(format!("region {other:?} is not \"us\" or \"eu\"")),
        }
    }
}

/// `[sources.opsgenie]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieSettings {
    /// Alerts (default) or incidents.
    pub api: Option<OpsgenieApiChoice>,
    /// `us` (default) or `eu`.
    pub region: Option<OpsgenieRegionChoice>,
}

impl Sources {
    /// The severity overrides as the adapters take them.
    pub fn severity_overrides(&self) -> SeverityOverrides {
        self.severity_overrides
            .iter()
            .fold(SeverityOverrides::new(), |o, (raw, sev)| o.with(raw, *sev))
    }
}

/// `[http]`: how the HTTP clients of a run behave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// The total time a run may spend waiting on rate limits and retries
    /// (every source together), in seconds; default 600. `--max-wait` wins.
    pub max_wait_seconds: Option<u64>,
}

/// `[sync]`: how `dora sync` refreshes what the store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Incidents opened this many days before the window's end are read again
    /// on every sync, so that edits to them reach the store; default 30.
    /// `--incident-horizon` wins.
    pub incident_horizon_days: Option<u32>,
}

/// Everything `dora.toml` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSettings {
    /// Metric knobs.
    pub config: Config,
    /// Where the data comes from.
    pub sources: Sources,
    /// `[http]`: the wait budget.
    pub http: HttpSettings,
    /// `[sync]`: what a sync reads again.
    pub sync: SyncSettings,
    /// The file's name as errors and [`crate::Origin`]s give it (`None` for
    /// no file).
    pub path: Option<String>,
}

/// Deserialize the `[name]` section, naming the key at fault in an error.
fn section<T: serde::de::DeserializeOwned>(name: &str, value: toml::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| at_key(Some(name), &e))
}

/// `[sources] workspace: invalid type …`: the section and the dotted key of
/// a value that did not deserialize (a `toml::Value` carries no positions, so
/// the key is the only way to say where).
fn at_key(section: Option<&str>, e: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let path = e.path().to_string();
    let key = if path == "." { String::new() } else { path };
    let message = e.inner().to_string();
    // toml may add its own `in \`key\`` line: the prefix says it already.
    let message = match message.split_once("\nin `") {
        Some((m, _)) if !key.is_empty() => m.trim(),
        _ => message.trim(),
    };
    match (section, key.is_empty()) {
        (Some(s), true) => format!("[{s}]: {message}"),
        (Some(s), false) => format!("[{s}] {key}: {message}"),
        (None, true) => message.to_string(),
        (None, false) => format!("{key}: {message}"),
    }
}

/// Parse a wait: seconds (`600`, `600s`), minutes (`10m`) or hours (`1h`).
pub fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit.trim() {
        "s" | "sec" | "secs" | "seconds" => 1,
        "m" | "min" | "mins" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|_| scale > 0)
        .and_then(|n| n.checked_mul(scale))
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| {
            format!("invalid wait {t:?}: use seconds (600, 600s), minutes (10m) or hours (1h)")
        })
}

/// Why a settings value was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A date could not be read.
    #[error("invalid date: {0}")]
    Date(#[from] dora_core::time::TimestampError),
    /// A value given by a flag, an environment variable or a Python argument
    /// is invalid; `key` names the setting and where it came from.
    #[error("{key}: {message}")]
    Value {
        /// The setting and its origin (`--days`, `DORA_DAYS`, `[sources] workspace`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Parse `--until` / `until` as every front end does
/// ([`dora_core::time::parse_timestamp`]): RFC 3339, a date-time without
/// offset (UTC) or a date (midnight UTC).
pub fn parse_date(text: &str) -> Result<DateTime<Utc>, SettingsError> {
    Ok(dora_core::time::parse_timestamp(text)?)
}

impl FileSettings {
    /// Parse the text of a `dora.toml`; `path` names the file in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, SettingsError> {
        let err = |message: String| SettingsError::File {
            path: path.to_string(),
            message,
        };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let sources = match table.remove("sources") {
            Some(v) => section::<Sources>("sources", v).map_err(err)?,
            None => Sources::default(),
        };
        let http = match table.remove("http") {
            Some(v) => section::<HttpSettings>("http", v).map_err(err)?,
            None => HttpSettings::default(),
        };
        let sync = match table.remove("sync") {
            Some(v) => section::<SyncSettings>("sync", v).map_err(err)?,
            None => SyncSettings::default(),
        };
        // `until` may be a TOML datetime, a date or an RFC 3339 string.
        if let Some(until) = table.remove("until") {
            let text = match &until {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) => d.to_string(),
                other => {
                    return Err(err(format!(
                        "until: expected a date, found {}",
                        other.type_str()
                    )));
                }
            };
            let t = parse_date(&text).map_err(|e| err(format!("until: {e}")))?;
            table.insert("until".into(), toml::Value::String(t.to_rfc3339()));
        }
        let config = serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(table))
            .map_err(|e| err(at_key(None, &e)))?;
        config.validate().map_err(|e| err(e.to_string()))?;
        Ok(Self {
            config,
            sources,
            http,
            sync,
            path: Some(path.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_with_sources_and_knobs() {
        let s = FileSettings::parse(
            "days = 30\nuntil = 2026-10-01\nseverities = [\"P1\"]\n[sources]\nworkspace = \"acme\"\nrepos = [\"web\"]\nincidents = \"opsgenie\"\n[sources.mapping.services]\ncheckout = [\"web\"]\n",
            "dora.toml",
        )
        .map_err(|e| e.to_string());
        let s = match s {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.config.days, 30);
        assert_eq!(
            s.config.until.map(|t| t.to_rfc3339()),
            Some("2026-10-01T00:00:00+00:00".into())
        );
        assert_eq!(s.sources.workspace.as_deref(), Some("acme"));
        assert_eq!(s.sources.incidents, Some(IncidentTool::Opsgenie));
        assert_eq!(s.sources.bitbucket.max_commit_pages, None);
        assert_eq!(s.sources.opsgenie.api, None);
        assert_eq!(
            s.sources.mapping.services.get("checkout"),
            Some(&vec!["web".to_string()])
        );
    }

    #[test]
    fn bitbucket_and_opsgenie_subsections() {
        let s = FileSettings::parse(
            "[sources.bitbucket]\nmax_commit_pages = 400\n[sources.opsgenie]\napi = \"incidents\"\n",
            "dora.toml",
        )
        .map_err(|e| e.to_string());
        assert!(
            s.as_ref()
                .is_ok_and(|s| s.sources.bitbucket.max_commit_pages == Some(400)
                    && s.sources.opsgenie.api == Some(OpsgenieApiChoice::Incidents)),
            "{s:?}"
        );
        let s = FileSettings::parse(
            "[sources]\nincidents = \"jsm\"\n[sources.jsm]\nsite = \"acme.atlassian.net\"\ncloud_id = \"c-1\"\n",
            "dora.toml",
        )
        .map_err(|e| e.to_string());
        assert!(
            s.as_ref()
                .is_ok_and(|s| s.sources.incidents == Some(IncidentTool::Jsm)
                    && s.sources.jsm.site.as_deref() == Some("acme.atlassian.net")
                    && s.sources.jsm.cloud_id.as_deref() == Some("c-1")
                    && s.sources.jsm.url.is_none()),
            "{s:?}"
        );
        let e = FileSettings::parse("[sources.jsm]\ntoken = \"x\"\n", "x.toml")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            e.is_err_and(|m| m.contains("token")),
            "credentials are not settings"
        );
        let e = FileSettings::parse("[sources.bitbucket]\nmax_commit_page = 4\n", "x.toml")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("max_commit_page")));
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let e = FileSettings::parse("dayz = 3\n", "x.toml")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            e.as_ref()
                .is_err_and(|m| m.contains("dayz") && m.starts_with("x.toml")),
            "{e:?}"
        );
        let e = FileSettings::parse("[sources]\nworkspce = \"a\"\n", "x.toml")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("workspce")));
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../dora-cli/README.md");
        let block = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .unwrap_or_default();
        let s = FileSettings::parse(block, "README.md").map_err(|e| e.to_string());
        assert!(
            s.as_ref()
                .is_ok_and(|s| s.sources.workspace.as_deref() == Some("acme")
                    && s.config.rerun_excuse_minutes == Some(30)
                    && s.sources.mapping.services.len() == 2),
            "{s:?}"
        );
    }

    #[test]
    fn http_section_and_wait_values() {
        let s = FileSettings::parse("days = 7\n[http]\nmax_wait_seconds = 90\n", "dora.toml")
            .map_err(|e| e.to_string());
        assert!(
            s.as_ref()
                .is_ok_and(|s| s.http.max_wait_seconds == Some(90) && s.config.days == 7),
            "{s:?}"
        );
        let e = FileSettings::parse("[http]\nmax_wait = 90\n", "x.toml")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("[http]") && m.contains("max_wait")));
        let e = FileSettings::parse("[http]\nmax_wait_seconds = -1\n", "x.toml")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("[http]")));
        let secs = |t: &str| parse_wait(t).map(|d| d.as_secs());
        assert_eq!(secs("600"), Ok(600));
        assert_eq!(secs("45s"), Ok(45));
        assert_eq!(secs("10m"), Ok(600));
        assert_eq!(secs(" 2h "), Ok(7200));
        assert_eq!(secs("0"), Ok(0));
        for bad in ["", "m", "ten", "10x", "-5", "1.5m", "99999999999999999999h"] {
            assert!(parse_wait(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn type_errors_name_the_key() {
        for (text, expected) in [
            (
                "[sources]\nworkspace = 5\n",
                "x.toml: [sources] workspace: invalid type",
            ),
            (
                "[sources]\nrepos = [\"a\", 5]\n",
                "x.toml: [sources] repos[1]: invalid type",
            ),
            (
                "[http]\nmax_wait_seconds = -5\n",
                "x.toml: [http] max_wait_seconds: invalid value: integer `-5`, expected u64",
            ),
            (
                "[sources.bitbucket]\nmax_commit_pages = \"x\"\n",
                "x.toml: [sources] bitbucket.max_commit_pages: invalid type",
            ),
            ("days = \"x\"\n", "x.toml: days: invalid type"),
            (
                "[hotfix]\nprefixes = [1]\n",
                "x.toml: hotfix.prefixes[0]: invalid type",
            ),
        ] {
            let e = FileSettings::parse(text, "x.toml")
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert!(
                e.as_ref()
                    .is_err_and(|m| m.starts_with(expected) && !m.contains("\nin `")),
                "{text:?}: {e:?}"
            );
        }
    }

    #[test]
    fn incident_knobs_and_their_errors() {
        let s = FileSettings::parse(
            "[sources.severity_overrides]\n\"SEV-1\" = \"P1\"\n[sources.pagerduty]\nservice_ids = [\"PSVC1\"]\n[sources.opsgenie]\nregion = \"eu\"\n",
            "dora.toml",
        )
        .map_err(|e| e.to_string());
        assert!(
            s.as_ref()
                .is_ok_and(|s| s.sources.severity_overrides().get("sev-1")
                    == Some(dora_core::Severity::P1)
                    && s.sources.pagerduty.service_ids == ["PSVC1"]
                    && s.sources.opsgenie.region == Some(OpsgenieRegionChoice::Eu)),
            "{s:?}"
        );
        for (text, key) in [
            (
                "[sources.severity_overrides]\nminor = \"P9\"\n",
                "[sources] severity_overrides.minor",
            ),
            (
                "[sources.opsgenie]\nregion = \"apac\"\n",
                "[sources] opsgenie.region",
            ),
            ("[sources.pagerduty]\nservice_id = [\"x\"]\n", "service_id"),
        ] {
            let e = FileSettings::parse(text, "x.toml")
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert!(
                e.as_ref().is_err_and(|m| m.contains(key)),
                "{text:?}: {e:?}"
            );
        }
    }

    #[test]
    fn dates() {
        assert!(parse_date("2026-11-02").is_ok());
        assert!(parse_date("2026-11-02T10:00:00+02:00").is_ok());
        // The spelling Python accepted and the command did not.
        assert_eq!(
            parse_date("2026-11-01T00:00:00").ok(),
            parse_date("2026-11-01").ok()
        );
        assert!(parse_date("yesterday").is_err());
    }
}
