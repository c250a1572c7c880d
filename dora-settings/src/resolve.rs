//! Precedence: flags > environment > file > defaults, each value knowing
//! where it came from.

use crate::file::{
    FileSettings, OpsgenieApiChoice, OpsgenieRegionChoice, SettingsError, parse_wait,
};
use dora_core::{Config, Severity, Timestamp};
use dora_incidents::{IncidentSettings, IncidentTool, Normalization, RepositoryMapping};
use std::fmt;
use std::time::Duration;

/// The environment variables read for settings, with the `dora.toml` key
/// each stands for. Secrets are not among them: the sources read those
/// (`BITBUCKET_*`, `PAGERDUTY_TOKEN`, ...) themselves.
pub const ENV_VARS: [(&str, &str); 8] = [
    ("DORA_DAYS", "days"),
    ("DORA_UNTIL", "until"),
    ("DORA_WORKSPACE", "[sources] workspace"),
    ("DORA_REPOS", "[sources] repos (comma-separated)"),
    ("DORA_INCIDENTS", "[sources] incidents"),
    ("DORA_MAX_WAIT", "[http] max_wait_seconds (600, 10m, 1h)"),
    ("JSM_CLOUD_ID", "[sources.jsm] cloud_id"),
    ("JSM_SITE", "[sources.jsm] site"),
];

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag (or a Python argument), by its name (`--days`).
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The settings file: the file and the key (`dora.toml: [sources] workspace`).
    File(String),
    /// The built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(name) => f.write_str(name),
            Self::Env(name) => f.write_str(name),
            Self::File(key) => f.write_str(key),
            Self::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub origin: Origin,
}

/// What flags (or a Python call's arguments) give; `None` / empty means "not
/// given", so the environment, the file or the default decides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--days`.
    pub days: Option<u32>,
    /// `--until` (any spelling [`dora_core::time::parse_timestamp`] reads).
    pub until: Option<String>,
    /// `--industry` (DORA 2025 benchmarks).
    pub industry: Option<String>,
    /// `--org-size` (DORA 2025 benchmarks).
    pub org_size: Option<String>,
    /// `--workspace`.
    pub workspace: Option<String>,
    /// `--repo` (repeated).
    pub repos: Vec<String>,
    /// `--incidents`.
    pub incidents: Option<IncidentTool>,
    /// `--bitbucket-url`.
    pub bitbucket_url: Option<String>,
    /// `--pagerduty-url`.
    pub pagerduty_url: Option<String>,
    /// `--opsgenie-url`.
    pub opsgenie_url: Option<String>,
    /// `--incidentio-url`.
    pub incidentio_url: Option<String>,
    /// `--jsm-url`.
    pub jsm_url: Option<String>,
    /// `--max-commit-pages`.
    pub max_commit_pages: Option<usize>,
    /// `--opsgenie-api`.
    pub opsgenie_api: Option<OpsgenieApiChoice>,
    /// `--opsgenie-region`.
    pub opsgenie_region: Option<OpsgenieRegionChoice>,
    /// `--pagerduty-service-id` (repeated); replaces the file's list.
    pub pagerduty_service_ids: Vec<String>,
    /// `--severity-override RAW=P1` (repeated); added to the file's, winning
    /// for the same raw name.
    pub severity_overrides: Vec<(String, Severity)>,
    /// `--max-wait`.
    pub max_wait: Option<Duration>,
    /// `--incident-horizon` (days).
    pub incident_horizon_days: Option<u32>,
}

/// Incidents re-read on each sync, in days before the window's end.
pub const DEFAULT_INCIDENT_HORIZON_DAYS: u32 = 30;

/// Every setting of a run, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The metric knobs (the file's, with `days`, `until`, `industry` and
    /// `org_size` from the environment or flags), validated.
    pub config: Config,
    /// The Bitbucket workspace, when any layer names one.
    pub workspace: Option<Setting<String>>,
    /// Repository slugs; empty means every repository of the workspace.
    pub repos: Setting<Vec<String>>,
    /// The incident tool, if any.
    pub incidents: Option<Setting<IncidentTool>>,
    /// The Bitbucket API base URL, when not the default.
    pub bitbucket_url: Option<Setting<String>>,
    /// The chosen incident tool's API base URL, when not the default.
    pub incident_url: Option<Setting<String>>,
    /// Incident service/team/tag → repositories (`[sources.mapping]`).
    pub mapping: RepositoryMapping,
    /// Raw severity name → P1..P5 (file, then flags).
    pub severity_overrides: dora_incidents::SeverityOverrides,
    /// PagerDuty: only these service ids (empty: all).
    pub pagerduty_service_ids: Vec<String>,
    /// Opsgenie alerts or incidents.
    pub opsgenie_api: OpsgenieApiChoice,
    /// Opsgenie's region.
    pub opsgenie_region: OpsgenieRegionChoice,
    /// JSM: the cloud id (`JSM_CLOUD_ID`, else the file's).
    pub jsm_cloud_id: Option<String>,
    /// JSM: the site (`JSM_SITE`, else the file's).
    pub jsm_site: Option<String>,
    /// The commit-walk cap in pages per repository, when set.
    pub max_commit_pages: Option<Setting<usize>>,
    /// The run's total wait budget on rate limits and retries.
    pub max_wait: Setting<Duration>,
    /// Days of incidents re-read on each sync.
    pub incident_horizon_days: Setting<u32>,
}

/// The first layer that has a value: flag, environment, file, default.
fn pick<T>(
    flag: Option<(T, &'static str)>,
    env: Option<(T, &'static str)>,
    file: Option<(T, String)>,
) -> Option<Setting<T>> {
    flag.map(|(value, name)| Setting {
        value,
        origin: Origin::Flag(name),
    })
    .or_else(|| {
        env.map(|(value, name)| Setting {
            value,
            origin: Origin::Env(name),
        })
    })
    .or_else(|| {
        file.map(|(value, key)| Setting {
            value,
            origin: Origin::File(key),
        })
    })
}

impl Settings {
    /// Layer `flags` over the environment (`env` reads a variable; see
    /// [`ENV_VARS`]) over `file` over the defaults, and check the result. An
    /// error names the setting and the layer its bad value came from.
    pub fn resolve(
        flags: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        file: &FileSettings,
    ) -> Result<Self, SettingsError> {
        let var = |name: &'static str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|v| (v, name))
        };
        let in_file = |key: &str| match &file.path {
            Some(path) => format!("{path}: {key}"),
            None => key.to_string(),
        };
        let bad = |origin: &Origin, message: String| SettingsError::Value {
            key: origin.to_string(),
            message,
        };
        let s = &file.sources;

        // The metric knobs: the file's, then the environment's, then flags.
        let mut config = file.config.clone();
        let env_days = match var("DORA_DAYS") {
            Some((text, name)) => Some((
                text.parse::<u32>().map_err(|_| {
                    bad(
                        &Origin::Env(name),
                        format!("{text:?} is not a number of days"),
                    )
                })?,
                name,
            )),
            None => None,
        };
        if let Some(days) = pick(flags.days.map(|d| (d, "--days")), env_days, None) {
            Config::check_days(i64::from(days.value))
                .map_err(|e| bad(&days.origin, e.to_string()))?;
            config.days = days.value;
        }
        if let Some(until) = pick(
            flags.until.clone().map(|u| (u, "--until")),
            var("DORA_UNTIL"),
            None,
        ) {
            let t: Timestamp =
                crate::parse_date(&until.value).map_err(|e| bad(&until.origin, e.to_string()))?;
            config.until = Some(t);
        }
        if flags.industry.is_some() || flags.org_size.is_some() {
            config.industry = flags.industry.clone();
            config.org_size = flags.org_size.clone();
        }
        config.validate().map_err(|e| SettingsError::Value {
            key: "settings".into(),
            message: e.to_string(),
        })?;

        let workspace = pick(
            flags.workspace.clone().map(|w| (w, "--workspace")),
            var("DORA_WORKSPACE"),
            s.workspace
                .clone()
                .map(|w| (w, in_file("[sources] workspace"))),
        );
        let repos = pick(
            (!flags.repos.is_empty()).then(|| (flags.repos.clone(), "--repo")),
            var("DORA_REPOS").map(|(v, name)| {
                (
                    v.split(',')
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect(),
                    name,
                )
            }),
            (!s.repos.is_empty()).then(|| (s.repos.clone(), in_file("[sources] repos"))),
        )
        .unwrap_or(Setting {
            value: Vec::new(),
            origin: Origin::Default,
        });
        let env_tool = match var("DORA_INCIDENTS") {
            Some((text, name)) => Some((
                text.parse::<IncidentTool>()
                    .map_err(|e| bad(&Origin::Env(name), e.to_string()))?,
                name,
            )),
            None => None,
        };
        let incidents = pick(
            flags.incidents.map(|t| (t, "--incidents")),
            env_tool,
            s.incidents.map(|t| (t, in_file("[sources] incidents"))),
        );
        let bitbucket_url = pick(
            flags.bitbucket_url.clone().map(|u| (u, "--bitbucket-url")),
            None,
            s.bitbucket_url
                .clone()
                .map(|u| (u, in_file("[sources] bitbucket_url"))),
        );
        let incident_url = match incidents.as_ref().map(|t| t.value) {
            Some(IncidentTool::Pagerduty) => pick(
                flags.pagerduty_url.clone().map(|u| (u, "--pagerduty-url")),
                None,
                s.pagerduty_url
                    .clone()
                    .map(|u| (u, in_file("[sources] pagerduty_url"))),
            ),
            Some(IncidentTool::Opsgenie) => pick(
                flags.opsgenie_url.clone().map(|u| (u, "--opsgenie-url")),
                None,
                s.opsgenie_url
                    .clone()
                    .map(|u| (u, in_file("[sources] opsgenie_url"))),
            ),
            Some(IncidentTool::Incidentio) => pick(
                flags
                    .incidentio_url
                    .clone()
                    .map(|u| (u, "--incidentio-url")),
                None,
                s.incidentio_url
                    .clone()
                    .map(|u| (u, in_file("[sources] incidentio_url"))),
            ),
            Some(IncidentTool::Jsm) => pick(
                flags.jsm_url.clone().map(|u| (u, "--jsm-url")),
                None,
                s.jsm.url.clone().map(|u| (u, in_file("[sources.jsm] url"))),
            ),
            None => None,
        };
        let mut severity_overrides = s.severity_overrides();
        for (raw, severity) in &flags.severity_overrides {
            severity_overrides.insert(raw.clone(), *severity);
        }
        let max_commit_pages = pick(
            flags.max_commit_pages.map(|n| (n, "--max-commit-pages")),
            None,
            s.bitbucket
                .max_commit_pages
                .map(|n| (n, in_file("[sources.bitbucket] max_commit_pages"))),
        );
        if let Some(pages) = &max_commit_pages
            && pages.value == 0
        {
            return Err(bad(&pages.origin, "must be at least 1".into()));
        }
        let env_wait = match var("DORA_MAX_WAIT") {
            Some((text, name)) => Some((
                parse_wait(&text).map_err(|e| bad(&Origin::Env(name), e))?,
                name,
            )),
            None => None,
        };
        let max_wait = pick(
            flags.max_wait.map(|w| (w, "--max-wait")),
            env_wait,
            file.http
                .max_wait_seconds
                .map(|s| (Duration::from_secs(s), in_file("[http] max_wait_seconds"))),
        )
        .unwrap_or(Setting {
            value: dora_http::WaitBudget::DEFAULT_LIMIT,
            origin: Origin::Default,
        });
        let incident_horizon_days = pick(
            flags
                .incident_horizon_days
                .map(|d| (d, "--incident-horizon")),
            None,
            file.sync
                .incident_horizon_days
                .map(|d| (d, in_file("[sync] incident_horizon_days"))),
        )
        .unwrap_or(Setting {
            value: DEFAULT_INCIDENT_HORIZON_DAYS,
            origin: Origin::Default,
        });
        if incident_horizon_days.value > Config::MAX_DAYS {
            return Err(bad(
                &incident_horizon_days.origin,
                format!(
                    "{} days is more than ten years ({} at most)",
                    incident_horizon_days.value,
                    Config::MAX_DAYS
                ),
            ));
        }
        Ok(Self {
            config,
            workspace,
            repos,
            incidents,
            bitbucket_url,
            incident_url,
            mapping: s.mapping.clone(),
            severity_overrides,
            pagerduty_service_ids: if flags.pagerduty_service_ids.is_empty() {
                s.pagerduty.service_ids.clone()
            } else {
                flags.pagerduty_service_ids.clone()
            },
            opsgenie_api: flags.opsgenie_api.or(s.opsgenie.api).unwrap_or_default(),
            opsgenie_region: flags
                .opsgenie_region
                .or(s.opsgenie.region)
                .unwrap_or_default(),
            jsm_cloud_id: var("JSM_CLOUD_ID")
                .map(|(v, _)| v)
                .or_else(|| s.jsm.cloud_id.clone()),
            jsm_site: var("JSM_SITE")
                .map(|(v, _)| v)
                .or_else(|| s.jsm.site.clone()),
            max_commit_pages,
            max_wait,
            incident_horizon_days,
        })
    }

    /// The workspace, or an error saying every way to give one.
    pub fn workspace(&self) -> Result<&str, SettingsError> {
        self.workspace
            .as_ref()
            .map(|w| w.value.as_str())
            .ok_or_else(|| SettingsError::Value {
                key: "workspace".into(),
                message: "no workspace: pass --workspace W (or set DORA_WORKSPACE, or `workspace` under [sources] in dora.toml)".into(),
            })
    }

    /// The incident tool's settings for [`IncidentTool::build`] (credentials
    /// from the process environment; set `env` or `token` to change that,
    /// and `wait_budget` to share a run's budget).
    pub fn incident_settings(&self) -> IncidentSettings {
        IncidentSettings {
            base_url: self.incident_url.as_ref().map(|u| u.value.clone()),
            normalization: Normalization {
                severities: self.severity_overrides.clone(),
                repositories: self.mapping.clone(),
            },
            pagerduty_service_ids: self.pagerduty_service_ids.clone(),
            opsgenie_region: self.opsgenie_region.region(),
            opsgenie_api: self.opsgenie_api.api(),
            jsm_cloud_id: self.jsm_cloud_id.clone(),
            jsm_site: self.jsm_site.clone(),
            max_wait: Some(self.max_wait.value),
            ..IncidentSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> FileSettings {
        match FileSettings::parse(text, "dora.toml") {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    fn resolve(
        flags: &Overrides,
        env: &[(&'static str, &'static str)],
        f: &FileSettings,
    ) -> Result<Settings, String> {
        let env: Vec<(&'static str, &'static str)> = env.to_vec();
        let lookup = move |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        };
        Settings::resolve(flags, &lookup, f).map_err(|e| e.to_string())
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let f = file(
            "days = 30\n[sources]\nworkspace = \"from-file\"\nrepos = [\"a\"]\nincidents = \"pagerduty\"\n[http]\nmax_wait_seconds = 90\n",
        );
        // File only.
        let s = resolve(&Overrides::default(), &[], &f);
        let s = s.as_ref().map_err(Clone::clone);
        assert!(s.is_ok_and(|s| {
            s.config.days == 30
                && s.workspace.as_ref().map(|w| w.value.as_str()) == Some("from-file")
                && s.workspace
                    .as_ref()
                    .map(|w| w.origin.to_string())
                    .as_deref()
                    == Some("dora.toml: [sources] workspace")
                && s.repos.value == ["a"]
                && s.max_wait.value == Duration::from_secs(90)
                && s.incident_horizon_days.origin == Origin::Default
        }));
        // The environment over the file.
        let env = [
            ("DORA_DAYS", "45"),
            ("DORA_WORKSPACE", "from-env"),
            ("DORA_REPOS", "b, c"),
            ("DORA_INCIDENTS", "opsgenie"),
            ("DORA_MAX_WAIT", "2m"),
        ];
        let s = resolve(&Overrides::default(), &env, &f).map_err(|e| panic!("{e}"));
        let Ok(s) = s;
        assert_eq!(s.config.days, 45);
        assert_eq!(
            s.workspace.as_ref().map(|w| w.origin.clone()),
            Some(Origin::Env("DORA_WORKSPACE"))
        );
        assert_eq!(s.repos.value, ["b", "c"]);
        assert_eq!(
            s.incidents.as_ref().map(|t| t.value),
            Some(IncidentTool::Opsgenie)
        );
        assert_eq!(s.max_wait.value, Duration::from_secs(120));
        // Flags over both.
        let flags = Overrides {
            days: Some(7),
            workspace: Some("from-flag".into()),
            repos: vec!["d".into()],
            incidents: Some(IncidentTool::Incidentio),
            max_wait: Some(Duration::ZERO),
            ..Overrides::default()
        };
        let s = resolve(&flags, &env, &f).map_err(|e| panic!("{e}"));
        let Ok(s) = s;
        assert_eq!(s.config.days, 7);
        assert_eq!(s.workspace().ok(), Some("from-flag"));
        assert_eq!(s.repos.origin, Origin::Flag("--repo"));
        assert_eq!(s.incidents.map(|t| t.value), Some(IncidentTool::Incidentio));
        assert_eq!(s.max_wait.value, Duration::ZERO);
        // Defaults.
        let s = resolve(&Overrides::default(), &[], &FileSettings::default())
            .map_err(|e| panic!("{e}"));
        let Ok(s) = s;
        assert_eq!(s.config, Config::default());
        assert!(
            s.workspace()
                .is_err_and(|e| e.to_string().contains("--workspace"))
        );
        assert_eq!(s.max_wait.value, dora_http::WaitBudget::DEFAULT_LIMIT);
        assert_eq!(s.incident_horizon_days.value, DEFAULT_INCIDENT_HORIZON_DAYS);
    }

    #[test]
    fn errors_name_the_layer_of_the_bad_value() {
        let f = FileSettings::default();
        for (flags, env, fragment) in [
            (
                Overrides {
                    days: Some(0),
                    ..Overrides::default()
                },
                &[][..],
                "--days: ",
            ),
            (
                Overrides::default(),
                &[("DORA_DAYS", "ninety")][..],
                "DORA_DAYS: ",
            ),
            (
                Overrides::default(),
                &[("DORA_DAYS", "5000")][..],
                "DORA_DAYS: ",
            ),
            (
                Overrides::default(),
                &[("DORA_UNTIL", "soon")][..],
                "DORA_UNTIL: invalid date",
            ),
            (
                Overrides {
                    until: Some("soon".into()),
                    ..Overrides::default()
                },
                &[][..],
                "--until: invalid date",
            ),
            (
                Overrides::default(),
                &[("DORA_INCIDENTS", "servicenow")][..],
                "DORA_INCIDENTS: unknown incident tool",
            ),
            (
                Overrides::default(),
                &[("DORA_MAX_WAIT", "soon")][..],
                "DORA_MAX_WAIT: invalid wait",
            ),
            (
                Overrides {
                    max_commit_pages: Some(0),
                    ..Overrides::default()
                },
                &[][..],
                "--max-commit-pages: must be at least 1",
            ),
        ] {
            let e = resolve(&flags, env, &f);
            assert!(
                e.as_ref().is_err_and(|m| m.starts_with(fragment)),
                "{fragment}: {e:?}"
            );
        }
        let f = file("[sync]\nincident_horizon_days = 4000\n");
        let e = resolve(&Overrides::default(), &[], &f);
        assert!(e.is_err_and(|m| m.starts_with("dora.toml: [sync] incident_horizon_days: ")));
    }

    #[test]
    fn until_reads_every_spelling_from_every_layer() {
        let midnight = "2026-11-01T00:00:00+00:00";
        for text in [
            "2026-11-01",
            "2026-11-01T00:00:00",
            "2026-11-01T00:00:00Z",
            "2026-11-01T01:00:00+01:00",
        ] {
            let flags = Overrides {
                until: Some(text.into()),
                ..Overrides::default()
            };
            let s = resolve(&flags, &[], &FileSettings::default());
            assert_eq!(
                s.map(|s| s.config.until.map(|t| t.to_rfc3339())),
                Ok(Some(midnight.into())),
                "{text}"
            );
            let f = file(&format!("until = \"{text}\"\n"));
            let s = resolve(&Overrides::default(), &[], &f);
            assert_eq!(
                s.map(|s| s.config.until.map(|t| t.to_rfc3339())),
                Ok(Some(midnight.into())),
                "{text}"
            );
        }
    }

    #[test]
    fn incident_knobs_reach_the_incident_settings() {
        let f = file(
            "[sources]\nincidents = \"opsgenie\"\nopsgenie_url = \"http://file\"\n[sources.severity_overrides]\n\"SEV-1\" = \"P1\"\nminor = \"P4\"\n[sources.opsgenie]\nregion = \"eu\"\napi = \"incidents\"\n[sources.pagerduty]\nservice_ids = [\"PSVC1\"]\n[sources.jsm]\ncloud_id = \"file-id\"\n",
        );
        let flags = Overrides {
            severity_overrides: vec![("minor".into(), Severity::P3)],
            opsgenie_url: Some("http://flag".into()),
            ..Overrides::default()
        };
        let s = resolve(&flags, &[("JSM_CLOUD_ID", "env-id")], &f).map_err(|e| panic!("{e}"));
        let Ok(s) = s;
        let i = s.incident_settings();
        assert_eq!(i.base_url.as_deref(), Some("http://flag"));
        assert_eq!(i.normalization.severities.get("sev-1"), Some(Severity::P1));
        assert_eq!(
            i.normalization.severities.get("Minor"),
            Some(Severity::P3),
            "the flag wins"
        );
        assert_eq!(i.opsgenie_region, dora_incidents::OpsgenieRegion::Eu);
        assert_eq!(i.opsgenie_api, dora_incidents::OpsgenieApi::Incidents);
        assert_eq!(i.pagerduty_service_ids, ["PSVC1"]);
        assert_eq!(
            i.jsm_cloud_id.as_deref(),
            Some("env-id"),
            "the environment wins over the file"
        );
    }
}
