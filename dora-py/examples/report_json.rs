//! Print the report of a dataset JSON file, computed by `dora-core` alone.
//!
//! The Python tests compare `dora_metrics.compute` with this output, so the
//! binding is checked against the Rust engine rather than against itself.
//!
//! ```sh
//! cargo run -p dora-py --example report_json -- DATASET.json [CONFIG.toml] --now 2026-11-01T00:00:00Z
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut now = chrono::Utc::now();
    if let Some(i) = args.iter().position(|a| a == "--now") {
        let Some(text) = args.get(i + 1).cloned() else {
            eprintln!("--now needs an RFC 3339 time");
            return ExitCode::from(2);
        };
        match chrono::DateTime::parse_from_rfc3339(&text) {
            Ok(t) => now = t.with_timezone(&chrono::Utc),
            Err(e) => {
                eprintln!("--now {text}: {e}");
                return ExitCode::from(2);
            }
        }
        args.drain(i..i + 2);
    }
    let Some(dataset_path) = args.first() else {
        eprintln!("usage: report_json DATASET.json [CONFIG.toml] [--now RFC3339]");
        return ExitCode::from(2);
    };
    let read = |path: &str| std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"));
    let result = read(dataset_path).and_then(|text| {
        let data = dora_core::Dataset::from_json(&text).map_err(|e| e.to_string())?;
        let config = match args.get(1) {
            Some(path) => dora_core::Config::from_toml(&read(path)?).map_err(|e| e.to_string())?,
            None => dora_core::Config::default(),
        };
        Ok(dora_core::compute_at(&data, &config, now).to_json())
    });
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
