//! The reports of a `clean` run: `report.json`'s concentration, timings and list health,
//! `report.html` (self-contained, no address, published with the other outputs), and the
//! 80-column summary on stderr.

use crate::support::run::{RunResult, TestRun};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLE}/{name}")).expect("sample_data file")
}

/// `clean` on the sample data with its log and lists, as the README runs it.
fn sample_run(extra: &[&str]) -> RunResult {
    let mut args = vec![
        "--engagement",
        "{dir}/events.csv",
        "--suppress",
        "{dir}/suppress.txt",
        "--suppress",
        "{dir}/suppress_sha256.csv",
    ];
    args.extend_from_slice(extra);
    TestRun::new()
        .file("in.csv", sample("contacts.csv"))
        .file("events.csv", sample("events.csv"))
        .file("suppress.txt", sample("suppress.txt"))
        .file("suppress_sha256.csv", sample("suppress_sha256.csv"))
        .clean(&args)
}

/// Every address of the sample's contact file (its `email` column, trimmed).
fn sample_addresses() -> Vec<String> {
    let bytes = sample("contacts.csv");
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let column = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "email")
        .expect("email column");
    reader
        .records()
        .map(|r| r.expect("record")[column].trim().to_string())
        .filter(|a| a.contains('@'))
        .collect()
}

#[test]
fn report_json_of_the_sample_data_run() {
    // See: #12 part 1
    let run = sample_run(&[]);
    let mut report = run.report();
    // What changes from run to run or machine to machine.
    report["elapsed_ms"] = 0.into();
    report["settings"]["jobs"] = 0.into();
    report["input"]["path"] = "in.csv".into();
    report["engagement"]["logs"]["files"] = serde_json::json!(["events.csv"]);
    for list in report["suppression_lists"].as_array_mut().expect("lists") {
        list["path"] = "list".into();
    }
    let timings = report["timings_ms"].as_object_mut().expect("timings_ms");
    let stages: Vec<&String> = timings.keys().collect();
    assert_eq!(
        stages,
        ["decide", "dns", "engagement", "examine", "read", "write"]
    );
    for value in timings.values_mut() {
        assert!(value.is_u64(), "{value}");
        *value = 0.into();
    }
    insta::assert_json_snapshot!("report_json_of_the_sample_data_run", report);
}

#[test]
fn report_html_is_self_contained_and_holds_no_address() {
    // See: #12 part 2
    let run = sample_run(&[]);
    let html = run.out("report.html");
    for outside in [
        "<script", "<link", "<img", "<iframe", "url(", "@import", "http:", "https:", "src=",
    ] {
        assert!(
            !html.contains(outside),
            "report.html refers outside itself: {outside}"
        );
    }
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert!(html.contains("@media print"), "a print style sheet");
    let addresses = sample_addresses();
    assert!(addresses.len() > 300, "{}", addresses.len());
    for address in &addresses {
        assert!(
            !html.contains(address.as_str()),
            "an address is in report.html"
        );
    }
    // No '@' at all outside the style sheet (whose rules start with '@').
    let body = html.split("</style>").nth(1).expect("a style sheet");
    assert!(!body.contains('@'), "an '@' in report.html");
    // The key numbers, as text.
    let report = run.report();
    for key in ["clean", "review", "suppressed"] {
        let n = report["outputs"][key].to_string();
        assert!(body.contains(&format!("<b>{n}</b>{key}")), "{key} {n}");
    }
    let before = report["list_health"]["unknown_users"]["percent_before"]
        .as_f64()
        .expect("percent");
    assert!(body.contains(&format!("{before:.2}%")), "{before}");
    assert!(body.contains("gmail.com"), "top domains");
}

#[test]
fn no_html_skips_report_html() {
    // See: #12 part 2
    let run = TestRun::new()
        .file("in.csv", "email\na@example.com\n")
        .clean(&["--no-html"]);
    assert!(!run.path("out/report.html").exists());
    assert!(run.path("out/report.json").exists());
    let run = TestRun::new()
        .file("in.csv", "email\na@example.com\n")
        .clean(&[]);
    assert!(run.path("out/report.html").exists());
}

#[test]
fn with_out_dir_dash_report_html_goes_to_the_report_dir() {
    // See: #12 part 2
    let run = TestRun::new()
        .file("in.csv", "email\na@example.com\n")
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "-",
            "--report-dir",
            "{dir}/reports",
            "--no-dns",
            "--quiet",
        ])
        .stdout_allowed()
        .run();
    assert!(run.path("reports/report.html").exists());
    assert!(run.path("reports/report.json").exists());
}

#[test]
fn the_summary_fits_80_columns_and_quiet_turns_it_off() {
    // See: #12 part 5
    let run = TestRun::new()
        .file("in.csv", sample("contacts.csv"))
        .file("events.csv", sample("events.csv"))
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "out",
            "--no-dns",
            "--as-of",
            "2026-11-01",
            "--engagement",
            "{dir}/events.csv",
        ])
        .stderr_allowed()
        .run();
    assert!(run.stderr.contains("list health"), "{}", run.stderr);
    assert!(run.stderr.contains("top reasons"), "{}", run.stderr);
    assert!(run.stderr.contains("DNS: not checked"), "{}", run.stderr);
    for line in run.stderr.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    let quiet = sample_run(&[]);
    assert!(!quiet.stderr.contains("list health"), "{}", quiet.stderr);
}
