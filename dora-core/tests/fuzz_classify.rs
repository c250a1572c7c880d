//! Property-based fuzzing of the classifiers: the revert parser, the hotfix
//! and bot rules, on random and mutated-realistic input (odd unicode,
//! multi-byte characters at every boundary, huge inputs). No panic, and the
//! answers agree with simple reference definitions.

use chrono::{TimeZone, Utc};
use dora_core::classify::parse_revert;
use dora_core::{Actor, Config, HotfixRules, PullRequest};
use quickcheck::{QuickCheck, TestResult};

fn cases(default: u64) -> u64 {
    std::env::var("DORA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Real-shaped revert messages (git, Bitbucket squash merges, revert of a
/// revert) to splice random text into.
const REAL: [&str; 5] = [
    "Revert \"Add feature flag\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
    "Merged in revert-pr (pull request #12)\n\nRevert \"x\"\n\n* Revert \"x\"\n\nThis reverts commit ABCDEF12.\n\nApproved-by: Bob",
    "Revert \"Revert \"Add x\"\"\n\nThis reverts commit abcdef1.",
    "This reverts commit 1a2b3c4d5e6f. This reverts commit 1A2B3C4D5E6F and this reverts commit 99",
    "Revert \"ünïcödé 💥\"",
];

/// The reference: every 7–40 hex-digit run after the marker, lowercased, once.
fn reference_shas(message: &str) -> Vec<String> {
    let lower = message.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    for (i, _) in lower.match_indices("this reverts commit ") {
        let sha: String = lower[i + "this reverts commit ".len()..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if (7..=40).contains(&sha.len()) && !out.contains(&sha) {
            out.push(sha);
        }
    }
    out
}

/// The reference subject: the first line's `Revert "<subject>"`.
fn reference_subject(message: &str) -> Option<String> {
    let line = message.lines().next().unwrap_or("").trim();
    let rest = line.strip_prefix("Revert \"")?;
    Some(rest[..rest.rfind('"')?].to_owned())
}

fn check_revert(message: &str) -> TestResult {
    let (shas, subject) = (reference_shas(message), reference_subject(message));
    match parse_revert(message) {
        None => TestResult::from_bool(shas.is_empty() && subject.is_none()),
        Some(info) => {
            let hex = info.shas.iter().all(|s| {
                (7..=40).contains(&s.len())
                    && s.chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            });
            TestResult::from_bool(hex && info.shas == shas && info.subject == subject)
        }
    }
}

fn splice(which: u8, at: usize, text: String) -> String {
    let mut message = REAL[which as usize % REAL.len()].to_owned();
    // Insert at a char boundary near `at`.
    let mut at = at % (message.len() + 1);
    while !message.is_char_boundary(at) {
        at -= 1;
    }
    message.insert_str(at, &text);
    message
}

#[test]
fn revert_parser_on_random_text() {
    QuickCheck::new()
        .tests(cases(2000))
        .quickcheck(check_revert_owned as fn(String) -> TestResult);
}

fn check_revert_owned(message: String) -> TestResult {
    check_revert(&message)
}

#[test]
fn revert_parser_on_mutated_real_messages() {
    fn prop(which: u8, at: usize, text: String) -> TestResult {
        check_revert(&splice(which, at, text))
    }
    QuickCheck::new()
        .tests(cases(2000))
        .quickcheck(prop as fn(u8, usize, String) -> TestResult);
}

#[test]
fn revert_parser_round_trips_what_git_writes() {
    fn prop(subject: String, sha: Vec<u8>) -> TestResult {
        let subject: String = subject
            .chars()
            .filter(|c| *c != '\n' && *c != '\r')
            .collect();
        let sha: String = sha.iter().map(|b| format!("{b:02x}")).collect();
        if !(7..=40).contains(&sha.len()) {
            return TestResult::discard();
        }
        let message = format!("Revert \"{subject}\"\n\nThis reverts commit {sha}.\n");
        let Some(info) = parse_revert(&message) else {
            return TestResult::failed();
        };
        TestResult::from_bool(
            info.shas == vec![sha]
                && info.subject.as_deref().map(str::trim) == Some(subject.trim()),
        )
    }
    QuickCheck::new()
        .tests(cases(1000))
        .max_tests(100_000)
        .quickcheck(prop as fn(String, Vec<u8>) -> TestResult);
}

/// Huge and pathological messages: linear, no panic.
#[test]
fn revert_parser_on_huge_messages() {
    let many = "this reverts commit ".repeat(50_000);
    assert_eq!(parse_revert(&many), None);
    let long_sha = format!("This reverts commit {}", "a".repeat(1_000_000));
    assert_eq!(parse_revert(&long_sha), None);
    let multibyte = "Revert \"".to_owned() + &"é".repeat(100_000);
    assert_eq!(parse_revert(&multibyte), None);
    let quote_only = "Revert \"";
    assert_eq!(parse_revert(quote_only), None);
}

fn pr(branch: &str, author: Actor) -> PullRequest {
    let t0 = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    PullRequest::merged("web", 1, author, branch, "main", t0, t0, "abc1234")
}

#[test]
fn hotfix_rule_is_a_case_insensitive_prefix_test() {
    fn prop(branch: String, prefixes: Vec<String>) -> bool {
        let rules = HotfixRules {
            prefixes: prefixes.clone(),
            ..HotfixRules::default()
        };
        let expected = prefixes.iter().any(|p| {
            branch.len() >= p.len()
                && branch
                    .bytes()
                    .take(p.len())
                    .map(|b| b.to_ascii_lowercase())
                    .eq(p.bytes().map(|b| b.to_ascii_lowercase()))
        });
        rules.is_hotfix(&pr(&branch, Actor::user("u", "U"))) == expected
    }
    QuickCheck::new()
        .tests(cases(2000))
        .quickcheck(prop as fn(String, Vec<String>) -> bool);
    // Multi-byte characters cut by a prefix's length do not panic.
    let rules = HotfixRules {
        prefixes: vec!["hö".into(), "h".into(), "💥/".into()],
        ..HotfixRules::default()
    };
    assert!(rules.is_hotfix(&pr("Hötfix", Actor::user("u", "U"))));
    assert!(rules.is_hotfix(&pr("💥/x", Actor::user("u", "U"))));
    assert!(!HotfixRules::default().is_hotfix(&pr("é", Actor::user("u", "U"))));
}

#[test]
fn bot_rule_never_panics_and_matches_patterns() {
    fn prop(
        name: String,
        id: String,
        patterns: Vec<String>,
        bot: bool,
        minutes: Option<i32>,
    ) -> bool {
        let mut config = Config::default();
        config.bots.name_patterns = patterns.clone();
        config.bots.min_pr_seconds = minutes.map(i64::from);
        let author = if bot {
            Actor::bot(id.clone(), name.clone())
        } else {
            Actor::user(id.clone(), name.clone())
        };
        let got = config.is_bot(&pr("feature/x", author));
        let contains = |h: &str, n: &str| h.to_ascii_lowercase().contains(&n.to_ascii_lowercase());
        let by_name = patterns
            .iter()
            .any(|p| !p.is_empty() && (contains(&name, p) || contains(&id, p)));
        // Merged the instant it was created: a minimum above zero flags it.
        let by_speed = minutes.is_some_and(|m| m > 0);
        got == (bot || by_name || by_speed)
    }
    QuickCheck::new()
        .tests(cases(2000))
        .quickcheck(prop as fn(String, String, Vec<String>, bool, Option<i32>) -> bool);
}
