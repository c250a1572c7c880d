//! Property-based fuzzing of `dora.toml` parsing (`FileSettings::parse`, and
//! `dora_core::Config::from_toml` for the knobs alone): random text and the
//! README's example with values of the wrong type, huge or negative numbers,
//! odd unicode, keys removed or misspelt, text truncated. No panic, and every
//! error says where: the file, and a line or the key at fault.

use dora_cli::settings::FileSettings;
use quickcheck::{QuickCheck, TestResult};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

fn cases(default: u64) -> u64 {
    std::env::var("DORA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The README's `dora.toml` example.
fn example() -> toml::Table {
    let readme = include_str!("../README.md");
    let block = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_default();
    toml::from_str(block).expect("the README example is TOML")
}

fn errors() -> &'static Mutex<BTreeSet<String>> {
    static SEEN: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

/// Every (dotted) key of the table, depth first.
fn keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        out.push(path.clone());
        if let toml::Value::Table(t) = v {
            keys(t, &path, out);
        }
    }
}

fn table_at<'a>(root: &'a mut toml::Table, path: &[&str]) -> Option<&'a mut toml::Table> {
    let mut t = root;
    for k in path {
        t = t.get_mut(*k)?.as_table_mut()?;
    }
    Some(t)
}

fn replacement(kind: u8, text: &str, number: i64) -> Option<toml::Value> {
    use toml::Value as V;
    Some(match kind % 14 {
        0 => V::Boolean(number % 2 == 0),
        1 => V::Integer(i64::MAX),
        2 => V::Integer(i64::MIN),
        3 => V::Integer(number),
        4 => V::Float(f64::MAX),
        5 => V::Float(f64::NAN),
        6 => V::String(text.to_owned()),
        7 => V::String("\u{202e}\u{0}💥".to_owned()),
        8 => V::Array(vec![V::Integer(number), V::String(text.to_owned())]),
        9 => V::Table(toml::Table::new()),
        10 => V::Datetime("1979-05-27T07:32:00Z".parse().expect("a TOML datetime")),
        11 => V::String("2024-02-30".to_owned()),
        12 => V::Integer(0),
        _ => return None,
    })
}

type Op = (u8, u32, String, i64);

fn mutated(ops: &[Op]) -> (String, Vec<String>) {
    let mut doc = example();
    let mut touched = Vec::new();
    for (kind, target, text, number) in ops {
        let mut all = Vec::new();
        keys(&doc, "", &mut all);
        if all.is_empty() {
            break;
        }
        let key = all[*target as usize % all.len()].clone();
        let parts: Vec<&str> = key.split('.').collect();
        let Some((last, parent)) = parts.split_last() else {
            continue;
        };
        let Some(table) = table_at(&mut doc, parent) else {
            continue;
        };
        match (kind % 16, replacement(*kind, text, *number)) {
            (14, _) => {
                // Misspell the key.
                if let Some(v) = table.remove(*last) {
                    table.insert(format!("{last}x"), v);
                }
            }
            (_, Some(v)) => {
                table.insert((*last).to_owned(), v);
            }
            (_, None) => {
                table.remove(*last);
            }
        }
        touched.push(key);
    }
    (toml::to_string(&doc).unwrap_or_default(), touched)
}

/// An error says where: a line, or one of the keys touched (or its section).
fn says_where(message: &str, touched: &[String]) -> bool {
    message.contains("line ")
        || touched
            .iter()
            .any(|k| k.split('.').any(|part| message.contains(part)))
}

fn check(text: &str, touched: &[String]) -> TestResult {
    let settings = FileSettings::parse(text, "dora.toml");
    if let Err(e) = &settings {
        let m = e.to_string();
        if let Ok(mut seen) = errors().lock() {
            seen.insert(m.clone());
        }
        if !m.starts_with("dora.toml") {
            return TestResult::error(format!("the error does not name the file: {m}"));
        }
        if !says_where(&m, touched) {
            return TestResult::error(format!("the error says not where ({touched:?}): {m}"));
        }
    }
    // The knobs alone, through the core's parser.
    let mut knobs: toml::Table = toml::from_str(text).unwrap_or_default();
    knobs.remove("sources");
    knobs.remove("http");
    if let Ok(knobs) = toml::to_string(&knobs)
        && let Err(e) = dora_core::Config::from_toml(&knobs)
    {
        let m = e.to_string();
        if let Ok(mut seen) = errors().lock() {
            seen.insert(format!("core: {m}"));
        }
        if !says_where(&m, touched) {
            return TestResult::error(format!("core: the error says not where ({touched:?}): {m}"));
        }
    }
    TestResult::passed()
}

#[test]
fn mutated_examples_never_panic_and_errors_say_where() {
    fn prop(ops: Vec<Op>, cut: Option<u16>) -> TestResult {
        let (mut text, touched) = mutated(&ops);
        if let Some(cut) = cut
            && !text.is_empty()
        {
            let mut at = cut as usize % text.len();
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            // A cut can break any line (a syntax error must give the line)
            // or shorten any value (the error must name its key).
            let mut all = touched.clone();
            keys(&example(), "", &mut all);
            return check(&text, &all);
        }
        check(&text, &touched)
    }
    QuickCheck::new()
        .tests(cases(1500))
        .quickcheck(prop as fn(Vec<Op>, Option<u16>) -> TestResult);
    if std::env::var("DORA_FUZZ_SHOW").is_ok()
        && let Ok(seen) = errors().lock()
    {
        for e in seen.iter() {
            eprintln!("{e}\n---");
        }
    }
}

#[test]
fn random_text_never_panics() {
    fn prop(text: String) -> bool {
        let file = FileSettings::parse(&text, "dora.toml");
        let _ = dora_core::Config::from_toml(&text);
        file.err()
            .is_none_or(|e| e.to_string().starts_with("dora.toml"))
    }
    QuickCheck::new()
        .tests(cases(2000))
        .quickcheck(prop as fn(String) -> bool);
}
