//! Mutations of realistic JSON pages for the property-based fuzz tests of
//! every wire decoder (shared by the test crates with
//! `#[path = ".../dora-http/tests/support/mutate.rs"] mod mutate;`).
//!
//! A mutation is a plain tuple so that quickcheck generates and shrinks it:
//! `(kind, target, _, text, number)` picks a node of the document (`target`
//! modulo the number of nodes) and replaces it with a value of another type,
//! a huge or negative number, odd unicode, an empty container, or removes
//! it. The rendered page may then be truncated.
#![allow(dead_code)] // each test crate uses a subset

use serde_json::{Map, Value, json};

/// One mutation: (kind, target node, unused, text payload, number payload).
pub type Op = (u8, u32, u8, String, i64);

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(Step::Key(k.clone()));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(Step::Index(i));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn parent_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut node = root;
    for step in path {
        node = match (step, node) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Odd strings: control characters, bidi overrides, astral planes, lone
/// combining marks, a BOM, something date-like but impossible.
const ODD: [&str; 8] = [
    "\u{0}\u{1}\u{1b}[31m",
    "\u{202e}evil\u{202c}",
    "💥🧨\u{10ffff}",
    "\u{301}\u{301}\u{301}",
    "\u{feff}2024-03-05T10:12:00Z",
    "2024-02-30T25:61:00Z",
    "-0",
    "NaN",
];

fn replacement(kind: u8, text: &str, number: i64, old: &Value) -> Option<Value> {
    Some(match kind % 18 {
        0 => Value::Null,
        1 => Value::Bool(number % 2 == 0),
        2 => json!(1e308),
        3 => json!(u64::MAX),
        4 => json!(number),
        5 => json!(-(number.unsigned_abs() as i128).min(i64::MAX as i128) as i64 - 1),
        6 => json!((number as f64) / 7.0),
        7 => Value::String(text.to_owned()),
        8 => Value::String(String::new()),
        9 => Value::String(ODD[(number.unsigned_abs() % ODD.len() as u64) as usize].to_owned()),
        10 => Value::String("x".repeat(10_000)),
        11 => Value::Array(Vec::new()),
        12 => Value::Object(Map::new()),
        13 => Value::Array(vec![old.clone()]),
        14 => json!({ "value": old.clone() }),
        15 => Value::String(number.to_string()),
        16 => return None, // remove
        _ => Value::String(old.to_string()),
    })
}

/// Apply `ops` to `doc`.
pub fn mutate(doc: &mut Value, ops: &[Op]) {
    for (kind, target, _, text, number) in ops {
        let mut all = Vec::new();
        paths(doc, &mut Vec::new(), &mut all);
        if all.is_empty() {
            *doc = replacement(*kind, text, *number, doc).unwrap_or(Value::Null);
            continue;
        }
        let path = &all[*target as usize % all.len()];
        let Some((last, parent)) = path.split_last() else {
            continue;
        };
        let Some(parent) = parent_mut(doc, parent) else {
            continue;
        };
        let old = match (last, &*parent) {
            (Step::Key(k), Value::Object(map)) => map.get(k).cloned().unwrap_or(Value::Null),
            (Step::Index(i), Value::Array(items)) => items.get(*i).cloned().unwrap_or(Value::Null),
            _ => continue,
        };
        let new = replacement(*kind, text, *number, &old);
        match (last, parent, new) {
            (Step::Key(k), Value::Object(map), Some(v)) => {
                map.insert(k.clone(), v);
            }
            (Step::Key(k), Value::Object(map), None) => {
                map.remove(k);
            }
            (Step::Index(i), Value::Array(items), Some(v)) => items[*i] = v,
            (Step::Index(i), Value::Array(items), None) => {
                items.remove(*i);
            }
            _ => {}
        }
    }
}

/// The page as bytes, cut after `cut` bytes (modulo its length) when given.
pub fn render(doc: &Value, cut: Option<u16>) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(doc).unwrap_or_default();
    if let Some(cut) = cut
        && !bytes.is_empty()
    {
        bytes.truncate(cut as usize % bytes.len());
    }
    bytes
}

/// Does an error message say where it failed: a JSON path (`at \`…\``), a
/// position in the text (`line N column M`), a named field, or the
/// pagination field at fault (`next`, `paging.next`, a cursor)?
pub fn names_a_place(message: &str) -> bool {
    [
        " at `",
        "line ",
        "field `",
        "`next`",
        "`paging.next`",
        "`pagination_meta.after`",
        "`more`",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// Serialises the cases of every property of one test binary (they share
/// one server and one slot for the spoiled page).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The generator size: short mutation lists and strings keep a case fast.
pub const GEN_SIZE: usize = 12;

/// Cases per property: `DORA_FUZZ_CASES` or `default`.
pub fn cases(default: u64) -> u64 {
    std::env::var("DORA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Count panics anywhere in the process (tokio tasks included, whose panics
/// would otherwise turn into ordinary errors): the returned counter.
pub fn count_panics() -> &'static std::sync::atomic::AtomicUsize {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
    &PANICS
}
