//! Snapshot tests of everything the binary prints, and the error-message rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::bench::Outcome;
use crate::config::CleanConfig;
use crate::error::Error;
use crate::progress::Silent;
use crate::reason::Action;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_data")
        .join(name)
}

#[test]
fn summary_of_the_sample_data_run() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut config = CleanConfig::for_test(&sample("contacts.csv"), &out.path().join("out"));
    config.decide.suppress = vec![sample("suppress.txt"), sample("suppress_sha256.csv")];
    config.decide.engagement = vec![sample("events.csv")];
    config.decide.as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
    let mut report =
        crate::pipeline::clean(&config, &Silent, Arc::new(|_: &str| {})).expect("sample run");
    report.elapsed_ms = 1234;
    insta::assert_snapshot!(summary(&report, Path::new("out")));
}

#[test]
fn summary_says_when_the_resolver_was_not_trusted() {
    let out = tempfile::tempdir().expect("tempdir");
    let input = out.path().join("in.csv");
    std::fs::write(&input, "email\na@example.com\n").expect("write");
    let config = CleanConfig::for_test(&input, &out.path().join("out"));
    let mut report = crate::pipeline::clean(&config, &Silent, Arc::new(|_: &str| {})).expect("run");
    assert!(summary(&report, Path::new("o")).contains("DNS: not checked (--no-dns)"));
    report.domains.checked = true;
    report.domains.resolver_trusted = false;
    let text = summary(&report, Path::new("o"));
    assert!(text.contains("DNS: resolver not trusted"), "{text}");
    report.domains.resolver_trusted = true;
    assert!(!summary(&report, Path::new("o")).contains("DNS:"));
}

fn check_result(address: &str, action: Action, reason: Option<&'static str>) -> CheckResult {
    CheckResult {
        address: address.to_string(),
        normalized: reason
            .is_none()
            .then(|| address.trim().to_ascii_lowercase()),
        action,
        reason,
        detail: reason.map_or(String::new(), |r| format!("{r} evidence")),
    }
}

#[test]
fn check_lines_as_text_and_json() {
    let results = [
        check_result("Jane@Example.com", Action::Keep, None),
        check_result("jane@gmial.com", Action::Suppress, Some("disposable")),
        check_result("x\u{2028}@y.com", Action::Suppress, Some("invalid_syntax")),
    ];
    insta::assert_snapshot!("check_text", check_results(&results, false));
    insta::assert_snapshot!("check_json", check_results(&results, true));
}

fn rule_set(
    name: &str,
    keep: u64,
    suppress: u64,
    reasons: &[(&'static str, u64)],
    caught: Option<f64>,
    lost: Option<f64>,
) -> RuleSetResult {
    RuleSetResult {
        rules: PathBuf::from(name),
        actions: BTreeMap::from([("keep", keep), ("suppress", suppress)]),
        reasons: reasons.iter().copied().collect(),
        outcomes: BTreeMap::from([(Outcome::Bounced, BTreeMap::from([("suppress", 2)]))]),
        bad_caught: caught,
        engaged_lost: lost,
    }
}

#[test]
fn bench_table_side_by_side() {
    let report = BenchReport {
        rows: 100,
        rows_with_outcome: 40,
        rule_sets: vec![
            rule_set(
                "strict.toml",
                80,
                20,
                &[("inactive", 15), ("invalid_syntax", 5)],
                Some(0.75),
                Some(0.125),
            ),
            rule_set(
                "a-much-longer-rules-file-name.toml",
                95,
                5,
                &[("invalid_syntax", 5)],
                Some(0.25),
                None,
            ),
        ],
    };
    insta::assert_snapshot!("bench_with_outcomes", bench_table(&report, true));
    insta::assert_snapshot!("bench_without_outcomes", bench_table(&report, false));
}

#[test]
fn an_error_prints_each_cause_once() {
    let error = Error::Read {
        path: "in.csv".into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
    };
    assert_eq!(
        error_message(&error, false),
        "in.csv: cannot read (check the path): No such file or directory"
    );
}

#[derive(Debug, thiserror::Error)]
#[error("engagement log e.csv: not a CSV file; check the path")]
struct Wrapper(#[source] MayQuoteData);

#[test]
fn causes_that_may_quote_data_are_hidden_unless_asked() {
    let inner: Box<dyn std::error::Error + Send + Sync> =
        "could not parse `jane@example.com` as i64".into();
    let error = Wrapper(MayQuoteData(inner));
    let hidden = error_message(&error, false);
    assert!(!hidden.contains("jane@example.com"), "{hidden}");
    assert!(hidden.starts_with("engagement log e.csv: not a CSV file; check the path"));
    assert!(hidden.contains("--show-values"));
    let shown = error_message(&error, true);
    assert!(
        shown.ends_with(": could not parse `jane@example.com` as i64"),
        "{shown}"
    );
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let error = Error::Input {
        path: "in\u{1b}[31m.csv".into(),
        message: "no column named `e\u{202e}mail`;\nuse --email-column".into(),
    };
    assert_eq!(
        error_message(&error, false),
        "in\\u{1b}[31m.csv: no column named `e\\u{202e}mail`; use --email-column"
    );
    assert_eq!(escape_controls("plain text"), "plain text");
    assert_eq!(escape_controls("a\tb\u{7f}"), "a\\u{9}b\\u{7f}");
}
