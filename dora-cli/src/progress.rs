//! Progress on stderr while collecting: requests done, pages, retries and
//! rate-limit waits, fed by `dora-http`'s progress hook.
//!
//! Hidden when stderr is not a terminal or with `--quiet`, so logs and pipes
//! stay clean.

use dora_http::{ProgressEvent, ProgressHook};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Default)]
struct Counters {
    phase: String,
    requests: u64,
    pages: u64,
    retries: u64,
    rate_limit_waits: u64,
    waiting: Option<(String, Duration)>,
}

/// A progress display; cheap to clone, every clone drives the same line.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    counters: Arc<Mutex<Counters>>,
    enabled: bool,
}

impl Progress {
    /// A display on stderr, shown only when `wanted` and stderr is a terminal.
    pub fn stderr(wanted: bool) -> Self {
        let enabled = wanted && std::io::stderr().is_terminal();
        let bar = if enabled {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>3} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Self {
            bar,
            counters: Arc::new(Mutex::new(Counters::default())),
            enabled,
        }
    }

    /// A display that never draws (for tests and `--quiet`).
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            counters: Arc::new(Mutex::new(Counters::default())),
            enabled: false,
        }
    }

    /// Is anything drawn?
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Start a phase (`bitbucket: acme`, `pagerduty`, `computing`).
    pub fn phase(&self, name: &str) {
        if let Ok(mut c) = self.counters.lock() {
            c.phase = name.to_string();
            c.waiting = None;
            self.bar.set_message(message(&c));
        }
    }

    /// Record one HTTP event.
    pub fn record(&self, event: &ProgressEvent) {
        let Ok(mut c) = self.counters.lock() else {
            return;
        };
        match event {
            ProgressEvent::Request { .. } => {
                c.requests += 1;
                c.waiting = None;
            }
            ProgressEvent::Page { .. } => c.pages += 1,
            ProgressEvent::Retry { .. } => c.retries += 1,
            ProgressEvent::RateLimitWait { endpoint, wait, .. } => {
                c.rate_limit_waits += 1;
                c.waiting = Some((endpoint.clone(), *wait));
            }
            _ => {}
        }
        self.bar.set_message(message(&c));
    }

    /// A hook for `dora-http` clients that feeds this display.
    pub fn hook(&self) -> ProgressHook {
        let me = self.clone();
        Arc::new(move |event: &ProgressEvent| me.record(event))
    }

    /// Requests, pages, retries and rate-limit waits seen so far.
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        self.counters
            .lock()
            .map(|c| (c.requests, c.pages, c.retries, c.rate_limit_waits))
            .unwrap_or_default()
    }

    /// Clear the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Print a line above the progress display (only when it is shown).
    pub fn println(&self, line: &str) {
        if self.enabled {
            self.bar.println(line);
        }
    }
}

fn message(c: &Counters) -> String {
    let mut s = format!(
        "{} · {} requests · {} pages",
        if c.phase.is_empty() {
            "collecting"
        } else {
            &c.phase
        },
        c.requests,
        c.pages
    );
    if c.retries > 0 {
        s.push_str(&format!(" · {} retries", c.retries));
    }
    if let Some((endpoint, wait)) = &c.waiting {
        s.push_str(&format!(
            " · rate limited on {endpoint}: waiting {:.0}s",
            wait.as_secs_f64()
        ));
    } else if c.rate_limit_waits > 0 {
        s.push_str(&format!(" · {} rate-limit waits", c.rate_limit_waits));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_events() {
        let p = Progress::hidden();
        let hook = p.hook();
        hook(&ProgressEvent::Request {
            endpoint: "pullrequests".into(),
            status: Some(200),
            requests_done: 1,
        });
        hook(&ProgressEvent::Page {
            endpoint: "pullrequests".into(),
            page: 1,
            items: 50,
        });
        assert_eq!(p.totals(), (1, 1, 0, 0));
        assert!(!p.enabled());
    }
}
