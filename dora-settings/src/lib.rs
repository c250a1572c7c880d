//! # dora-settings: one settings path for the `dora` command, `dora.toml`, the environment and Python
//!
//! Every front end reads its settings here, so a key means the same thing
//! wherever it is given and is checked once:
//!
//! - [`FileSettings::parse`] reads a `dora.toml` (the [`dora_core::Config`]
//!   knobs at the top level, `[sources]`, `[http]`, `[sync]`); unknown keys are
//!   errors that name the key. Python's `Config.from_toml` reads the same file
//!   through it.
//! - [`Settings::resolve`] layers the values: **flags > environment > file >
//!   defaults**. Each value keeps its [`Origin`], so an error says whether the
//!   bad value came from `--days`, `DORA_DAYS` or `dora.toml`.
//! - [`Settings::incident_settings`] hands the incident part to
//!   [`dora_incidents::IncidentTool::build`], the one construction path of the
//!   incident sources.
//! - Times are read by [`dora_core::time::parse_timestamp`] (RFC 3339, an ISO
//!   date-time without offset taken as UTC, or a date), waits by [`parse_wait`].
//!
//! Secrets (API tokens, emails) are never settings: the sources read them from
//! the environment themselves, and no type here holds or prints one.
//!
//! ```
//! use dora_settings::{FileSettings, Origin, Overrides, Settings};
//!
//! let file = FileSettings::parse(
//!     "days = 30\n[sources]\nworkspace = \"acme\"\nincidents = \"opsgenie\"\n[sources.opsgenie]\nregion = \"eu\"\n",
//!     "dora.toml",
//! )?;
//! // The environment names another workspace; a flag sets the window end.
//! let env = |name: &str| (name == "DORA_WORKSPACE").then(|| "acme-eu".to_string());
//! let flags = Overrides {
//!     until: Some("2026-11-01T00:00:00".into()),
//!     ..Overrides::default()
//! };
//! let settings = Settings::resolve(&flags, &env, &file)?;
//! assert_eq!(settings.config.days, 30);
//! assert_eq!(settings.workspace()?, "acme-eu");
//! assert_eq!(settings.workspace.as_ref().map(|w| &w.origin), Some(&Origin::Env("DORA_WORKSPACE")));
//! assert_eq!(
//!     settings.config.until.map(|t| t.to_rfc3339()).as_deref(),
//!     Some("2026-11-01T00:00:00+00:00")
//! );
//! # Ok::<(), dora_settings::SettingsError>(())
//! ```

#![forbid(unsafe_code)]

mod file;
mod resolve;

pub use dora_incidents::IncidentTool;
pub use file::{
    BitbucketSettings, FileSettings, HttpSettings, JsmSettings, OpsgenieApiChoice,
    OpsgenieRegionChoice, OpsgenieSettings, PagerDutySettings, SettingsError, Sources,
    SyncSettings, parse_date, parse_wait,
};
pub use resolve::{DEFAULT_INCIDENT_HORIZON_DAYS, ENV_VARS, Origin, Overrides, Setting, Settings};
