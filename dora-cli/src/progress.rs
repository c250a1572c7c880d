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
    /// What is being waited for right now, and the budget used.
    waiting: Option<String>,
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
            ProgressEvent::Retry {
                endpoint,
                delay,
                status,
                waited,
                budget,
                ..
            } => {
                c.retries += 1;
                let cause = match status {
                    Some(code) => format!("HTTP {code} on {endpoint}"),
                    None => format!("{endpoint} failed"),
                };
                c.waiting = Some(format!(
                    "{cause}: retrying in {} ({})",
                    secs(*delay),
                    budget_text(*waited, *budget)
                ));
            }
            ProgressEvent::RateLimitWait {
                endpoint,
                wait,
                waited,
                budget,
                ..
            } => {
                c.rate_limit_waits += 1;
                c.waiting = Some(format!(
                    "rate limited on {endpoint}: waiting {} ({})",
                    secs(*wait),
                    budget_text(*waited, *budget)
                ));
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
    if let Some(waiting) = &c.waiting {
        s.push_str(" · ");
        s.push_str(waiting);
    } else if c.rate_limit_waits > 0 {
        s.push_str(&format!(" · {} rate-limit waits", c.rate_limit_waits));
    }
    s
}

/// `7s`, `1.5s`, `5m`, `5m 30s`.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        match d.as_secs() % 60 {
            0 => format!("{}m", d.as_secs() / 60),
            rest => format!("{}m {rest}s", d.as_secs() / 60),
        }
    } else if s < 10.0 && d.subsec_millis() != 0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// `12s of the 10m wait budget used`.
fn budget_text(waited: Duration, budget: Duration) -> String {
    format!("{} of the {} wait budget used", secs(waited), secs(budget))
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

    #[test]
    fn the_line_says_what_is_waited_for() {
        let p = Progress::hidden();
        p.phase("bitbucket: acme");
        let line = |p: &Progress| p.counters.lock().map(|c| message(&c)).unwrap_or_default();
        let events = crate::progress::tests::waits();
        p.record(&events[0]);
        assert_eq!(
            line(&p),
            "bitbucket: acme · 0 requests · 0 pages · rate limited on pullrequests: waiting 30s (30s of the 10m wait budget used)"
        );
        p.record(&events[1]);
        assert_eq!(
            line(&p),
            "bitbucket: acme · 0 requests · 0 pages · 1 retries · HTTP 503 on pullrequests: retrying in 1.5s (32s of the 10m wait budget used)"
        );
        p.record(&ProgressEvent::Request {
            endpoint: "pullrequests".into(),
            status: Some(200),
            requests_done: 1,
        });
        assert!(!line(&p).contains("retrying"), "{}", line(&p));
    }

    /// Real events (their variants cannot be built outside dora-http): a 429
    /// then a 503 from a local server, waits through an instant sleeper.
    fn waits() -> Vec<ProgressEvent> {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let answers = [
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1.5\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
            ];
            for answer in answers {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let client = dora_http::HttpClient::builder(format!("http://{addr}"))
            .with_sleeper(dora_http::InstantSleeper::new())
            .on_progress(move |e| {
                if !matches!(e, ProgressEvent::Request { .. }) {
                    seen.lock().expect("lock").push(e.clone());
                }
            })
            .build()
            .expect("client");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let first = client.request("pullrequests", &["a"]);
        let _ = runtime.block_on(client.send(&first));
        let _ = server.join();
        events.lock().expect("lock").clone()
    }
}
