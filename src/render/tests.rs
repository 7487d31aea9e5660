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
    let text = summary(&report, Path::new("out"), &warnings(&report));
    // See: #12 part 5: an aligned table that fits 80 columns.
    for line in text.lines() {
        assert!(line.chars().count() <= SUMMARY_WIDTH, "{line:?}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn summary_wraps_long_warnings_within_80_columns() {
    // See: #12 part 5
    let out = tempfile::tempdir().expect("tempdir");
    let input = out.path().join("in.csv");
    std::fs::write(&input, "email\na@example.com\n").expect("write");
    let config = CleanConfig::for_test(&input, &out.path().join("out"));
    let report = crate::pipeline::clean(&config, &Silent, Arc::new(|_: &str| {})).expect("run");
    let long = "word ".repeat(40);
    let text = summary(&report, Path::new("o"), std::slice::from_ref(&long));
    assert!(
        text.lines().all(|l| l.chars().count() <= SUMMARY_WIDTH),
        "{text}"
    );
    assert_eq!(text.matches("word").count(), 40, "{text}");
}

#[test]
fn summary_says_when_the_resolver_was_not_trusted() {
    let out = tempfile::tempdir().expect("tempdir");
    let input = out.path().join("in.csv");
    std::fs::write(&input, "email\na@example.com\n").expect("write");
    let config = CleanConfig::for_test(&input, &out.path().join("out"));
    let mut report = crate::pipeline::clean(&config, &Silent, Arc::new(|_: &str| {})).expect("run");
    let shown = |report: &Report| summary(report, Path::new("o"), &warnings(report));
    assert!(shown(&report).contains("DNS: not checked (--no-dns)"));
    report.domains.checked = true;
    report.domains.resolver_trusted = false;
    let text = shown(&report);
    assert!(text.contains("DNS: resolver not trusted"), "{text}");
    report.domains.resolver_trusted = true;
    assert!(!shown(&report).contains("DNS:"));
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
        scores: None,
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
        overlaps: Vec::new(),
        outcomes_file: None,
    };
    let report = BenchReport {
        overlaps: vec![
            crate::bench::Overlap {
                suppressed_by: "strict.toml".into(),
                kept_by: "a-much-longer-rules-file-name.toml".into(),
                rows: 15,
            },
            crate::bench::Overlap {
                suppressed_by: "a-much-longer-rules-file-name.toml".into(),
                kept_by: "strict.toml".into(),
                rows: 0,
            },
        ],
        ..report
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

// See: #13 part 1
#[test]
fn a_tripped_threshold_reads_with_its_figure() {
    let parse = |text: &str| -> crate::guard::Threshold { text.parse().expect("threshold") };
    let line = |text: &str, count, rows| threshold_tripped(&parse(text).check(count, rows));
    assert_eq!(
        line("suppressed>15%", 224, 1000),
        "threshold suppressed>15% tripped: 22.4% (224 of 1000 rows)"
    );
    assert_eq!(
        line("rejected>0", 3, 1000),
        "threshold rejected>0 tripped: 3 rows (of 1000)"
    );
    // One decimal would read as not crossing the limit: more are shown.
    assert_eq!(
        line("suppressed>15%", 1501, 10000),
        "threshold suppressed>15% tripped: 15.01% (1501 of 10000 rows)"
    );
    assert_eq!(
        line("clean<15%", 14999, 100000),
        "threshold clean<15% tripped: 14.999% (14999 of 100000 rows)"
    );
    assert_eq!(
        line("clean<=15%", 150, 1000),
        "threshold clean<=15% tripped: 15.0% (150 of 1000 rows)"
    );
}

// See: #13 part 8
#[test]
fn log_events_are_one_json_object_in_a_fixed_key_order() {
    use events::{EventKind, Level, LogEvent};
    let event = LogEvent::new(EventKind::End, "exit 3\n\u{1b}")
        .with_level(Level::Error)
        .with("exit_code", 3)
        .with("message", "ignored")
        .with("exit_code", 4)
        .with("b", true)
        .with("a", serde_json::json!({"z": 1}));
    let line = event.to_json_line("2026-11-29T00:00:00.000Z");
    assert_eq!(
        line,
        "{\"time\":\"2026-11-29T00:00:00.000Z\",\"level\":\"error\",\"event\":\"end\",\
         \"message\":\"exit 3\\n\\u001b\",\"exit_code\":3,\"b\":true,\"a\":{\"z\":1}}\n"
    );
    let parsed: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(parsed["exit_code"], 3);
    assert_eq!(EventKind::Threshold.level(), Level::Error);
    assert_eq!(EventKind::Warning.level(), Level::Warning);
    assert_eq!(EventKind::Summary.level(), Level::Info);
}
