//! Unit tests of `--fail-if` parsing and evaluation. See: #13 part 1.

use std::sync::Arc;

use super::*;
use crate::config::CleanConfig;
use crate::progress::Silent;

fn parse(text: &str) -> Threshold {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} should parse: {e}"))
}

fn trips(text: &str, count: u64, rows: u64) -> bool {
    parse(text).check(count, rows).tripped
}

#[test]
fn every_form_parses() {
    let t = parse("suppressed>15%");
    assert_eq!(t.subject, Subject::Output("suppressed"));
    assert_eq!(t.comparison, Comparison::Above);
    assert_eq!(t.limit, Limit::Percent(15_000_000));
    assert_eq!(parse("rejected>0").limit, Limit::Rows(0));
    assert_eq!(parse("clean>=10").comparison, Comparison::AtLeast);
    assert_eq!(parse("review<10").comparison, Comparison::Below);
    assert_eq!(parse("review<=10").comparison, Comparison::AtMost);
    assert_eq!(parse("dns_unknown>2.5%").limit, Limit::Percent(2_500_000));
    assert_eq!(
        parse(" dns_unknown >= 0.000001 % ").limit,
        Limit::Percent(1)
    );
    assert_eq!(parse("clean<100%").limit, Limit::Percent(100_000_000));
    assert_eq!(
        parse("dns_unknown>5%").subject,
        Subject::Reason(Reason::DnsUnknown)
    );
}

#[test]
fn every_output_and_reason_is_a_subject() {
    for name in OUTPUT_NAMES
        .iter()
        .copied()
        .chain(Reason::ALL.iter().map(|r| r.code()))
    {
        let t = parse(&format!("{name}>1"));
        assert_eq!(t.subject.name(), name);
    }
}

#[test]
fn canonical_form_round_trips() {
    for text in [
        "suppressed>15%",
        "rejected>0",
        "clean<=99.5%",
        "review>=0.25%",
        "inactive<7",
    ] {
        assert_eq!(parse(text).to_string(), text);
    }
    assert_eq!(
        parse("suppressed > 15.50 %").to_string(),
        "suppressed>15.5%"
    );
}

#[test]
fn malformed_thresholds_name_the_expression_and_the_forms() {
    for (text, problem) in [
        ("suppressed", "no comparison"),
        ("suppressed=5", "no comparison"),
        (">5", "no output or reason name"),
        (
            "supressed>5",
            "`supressed` is not an output or a reason code",
        ),
        ("suppressed>", "is not a whole number"),
        ("suppressed>-1", "is not a whole number"),
        ("suppressed>1.5", "is not a whole number"),
        ("suppressed>>5", "is not a whole number"),
        ("suppressed>101%", "is not a percentage from 0 to 100"),
        ("suppressed>-5%", "is not a percentage"),
        ("suppressed>5.%", "is not a percentage"),
        ("suppressed>.5%", "is not a percentage"),
        ("suppressed>0.0000001%", "is not a percentage"),
        ("suppressed>abc%", "is not a percentage"),
    ] {
        let error = text.parse::<Threshold>().expect_err(text).to_string();
        assert!(error.starts_with(&format!("`{text}`: ")), "{error}");
        assert!(error.contains(problem), "{text}: {error}");
        assert!(
            error.contains("NAME>N, NAME>=N, NAME<N or NAME<=N"),
            "{error}"
        );
    }
    let error = "x\u{1b}[2J>1".parse::<Threshold>().expect_err("escape");
    assert!(!error.to_string().contains('\u{1b}'), "{error}");
}

#[test]
fn counts_compare_at_the_boundary() {
    assert!(!trips("rejected>0", 0, 10));
    assert!(trips("rejected>0", 1, 10));
    assert!(!trips("rejected>3", 3, 10));
    assert!(trips("rejected>=3", 3, 10));
    assert!(!trips("rejected>=3", 2, 10));
    assert!(!trips("clean<3", 3, 10));
    assert!(trips("clean<3", 2, 10));
    assert!(trips("clean<=3", 3, 10));
    assert!(!trips("clean<=3", 4, 10));
}

#[test]
fn shares_compare_exactly_against_the_input_rows() {
    // 150 of 1000 is exactly 15%, a value f64 does not hold exactly (0.15 × 100).
    assert!(!trips("suppressed>15%", 150, 1000));
    assert!(trips("suppressed>15%", 151, 1000));
    assert!(trips("suppressed>=15%", 150, 1000));
    assert!(!trips("suppressed>=15%", 149, 1000));
    assert!(!trips("clean<15%", 150, 1000));
    assert!(trips("clean<15%", 149, 1000));
    assert!(trips("clean<=15%", 150, 1000));
    assert!(!trips("clean<=15%", 151, 1000));
    // 1 of 3 is 33.333…%: above 33.333333%, below 33.333334%.
    assert!(trips("review>33.333333%", 1, 3));
    assert!(!trips("review>=33.333334%", 1, 3));
    // The base is the input rows, not another output.
    assert!(!trips("dns_unknown>5%", 5, 100));
    assert!(trips("dns_unknown>5%", 5, 99));
    let result = parse("suppressed>15%").check(224, 1000);
    assert_eq!(
        (result.count, result.rows, result.unit, result.tripped),
        (224, 1000, "percent", true)
    );
    assert!((result.value - 22.4).abs() < 1e-9);
    assert!((result.limit - 15.0).abs() < 1e-9);
}

#[test]
fn with_no_rows_every_share_is_zero() {
    assert!(!trips("suppressed>0%", 0, 0));
    assert!(trips("suppressed>=0%", 0, 0));
    assert!(!trips("suppressed>=1%", 0, 0));
    assert!(trips("clean<50%", 0, 0));
    assert!(!trips("clean<0%", 0, 0));
    assert!(!trips("rejected>0", 0, 0));
    assert_eq!(parse("clean<50%").check(0, 0).value, 0.0);
}

#[test]
fn evaluation_reads_outputs_and_deciding_reasons_from_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "email\na@example.com\nnot-an-address\nb@example.com\na@example.com\ninfo@example.com\n",
    )
    .expect("write");
    let config = CleanConfig::for_test(&input, &dir.path().join("out"));
    let report = crate::pipeline::clean(&config, &Silent, Arc::new(|_: &str| {})).expect("run");
    let thresholds: Vec<Threshold> = [
        "suppressed>=40%",
        "suppressed>40%",
        "invalid_syntax>0",
        "duplicate>1",
        "review<1",
        "clean>=2",
        "rejected>0",
    ]
    .iter()
    .map(|t| parse(t))
    .collect();
    let results = evaluate(&thresholds, &report);
    let summary: Vec<(&str, u64, u64, bool)> = results
        .iter()
        .map(|r| (r.expression.as_str(), r.count, r.rows, r.tripped))
        .collect();
    assert_eq!(
        summary,
        [
            ("suppressed>=40%", 2, 5, true),
            ("suppressed>40%", 2, 5, false),
            ("invalid_syntax>0", 1, 5, true),
            ("duplicate>1", 1, 5, false),
            ("review<1", 1, 5, false),
            ("clean>=2", 2, 5, true),
            ("rejected>0", 0, 5, false),
        ]
    );
    assert!(any_tripped(&results));
    assert!(!any_tripped(&results[1..2]));
    assert!(!any_tripped(&[]));
}
