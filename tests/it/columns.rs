//! Column detection and dialects through the binary: what users see when a header is missing,
//! mistyped or hostile, and event logs that are compressed, piped or malformed.

use std::io::Write;

use crate::support::run::{RunResult, TestRun};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLE}/{name}")).expect("sample data")
}

/// The outputs a user compares: every CSV and the report's engagement counts.
fn outputs(run: &RunResult) -> Vec<String> {
    let mut all: Vec<String> = ["clean.csv", "review.csv", "suppressed.csv"]
        .iter()
        .map(|name| run.out(name))
        .collect();
    let mut logs = run.report()["engagement"]["logs"].clone();
    logs["files"] = serde_json::Value::Null;
    all.push(logs.to_string());
    all
}

/// A clean run of the sample contacts against the event log `events` in the run's directory.
fn with_log(events_name: &str, events: Vec<u8>) -> RunResult {
    TestRun::new()
        .file("in.csv", sample("contacts.csv"))
        .file(events_name, events)
        .clean(&["--engagement", &format!("{{dir}}/{events_name}")])
}

/// [`with_log`] for a log the run must refuse: exit 1 with a message.
fn refused_log(events_name: &str, events: Vec<u8>) -> RunResult {
    TestRun::new()
        .file("in.csv", sample("contacts.csv"))
        .file(events_name, events)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--engagement", &format!("{{dir}}/{events_name}")])
}

/// Asserts that a failed run's stderr is one short line without any address from the data.
fn assert_private(run: &RunResult) {
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        !run.stderr.contains('@') && run.stderr.len() < 600,
        "{}",
        run.stderr
    );
}

// See: #16 item 10
#[test]
fn gzip_and_zstd_event_logs_give_the_plain_log_outputs() {
    let plain = sample("events.csv");
    let expected = with_log("events.csv", plain.clone());
    assert_eq!(expected.status, 0, "{}", expected.stderr);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&plain).unwrap();
    let zstd = zstd::encode_all(&plain[..], 3).unwrap();
    for (name, bytes) in [
        ("events.csv.gz", gzip.finish().unwrap()),
        ("events.csv.zst", zstd),
    ] {
        let run = with_log(name, bytes);
        assert_eq!(run.status, 0, "{name}: {}", run.stderr);
        assert_eq!(outputs(&run), outputs(&expected), "{name}");
    }
}

// See: #16 item 15
#[test]
fn event_logs_from_a_pipe_are_read() {
    let expected = with_log("events.csv", sample("events.csv"));
    let piped = TestRun::new()
        .file("in.csv", sample("contacts.csv"))
        .stdin(sample("events.csv"))
        .clean(&["--engagement", "/dev/stdin"]);
    assert_eq!(piped.status, 0, "{}", piped.stderr);
    assert_eq!(outputs(&piped), outputs(&expected));
}

// See: #16 item 15
#[test]
fn parquet_event_logs_from_a_pipe_are_spooled_and_read() {
    use polars::prelude::*;
    let mut reader = csv::Reader::from_path(format!("{SAMPLE}/events.csv")).unwrap();
    let mut columns: [Vec<String>; 4] = Default::default();
    for record in reader.records() {
        let record = record.unwrap();
        for (column, cell) in columns.iter_mut().zip(record.iter()) {
            column.push(cell.to_string());
        }
    }
    let [email, event, timestamp, machine] = columns;
    let mut frame = df!(
        "email" => email,
        "event" => event,
        "timestamp" => timestamp,
        "machine" => machine,
    )
    .unwrap();
    let mut parquet = Vec::new();
    ParquetWriter::new(&mut parquet).finish(&mut frame).unwrap();
    let expected = with_log("events.parquet", parquet.clone());
    assert_eq!(expected.status, 0, "{}", expected.stderr);
    let piped = TestRun::new()
        .file("in.csv", sample("contacts.csv"))
        .stdin(parquet)
        .clean(&["--engagement", "/dev/stdin"]);
    assert_eq!(piped.status, 0, "{}", piped.stderr);
    assert_eq!(outputs(&piped), outputs(&expected));
}

// See: #16 item 7
#[test]
fn a_stray_quote_in_an_event_log_names_the_line_not_the_rest_of_the_file() {
    let mut log = String::from("email,event,timestamp\n");
    for i in 0..20_000 {
        let event = if i == 100 { "\"open" } else { "open" };
        log.push_str(&format!("u{i}@example.com,{event},2024-01-02\n"));
    }
    let run = refused_log("events.csv", log.into_bytes());
    assert_private(&run);
    assert!(
        run.stderr.contains("events.csv") && run.stderr.contains("line 102"),
        "{}",
        run.stderr
    );
}

// See: #16 item 7
#[test]
fn headerless_files_and_mistyped_columns_never_print_a_row() {
    let rows = "jane@acme-widgets.com,Jane,2024-01-02\nbob@acme-widgets.com,Bob,2024-01-03\n";
    let headerless = TestRun::new()
        .file("in.csv", rows)
        .expect_status(1)
        .stderr_allowed()
        .clean(&[]);
    assert_private(&headerless);
    assert!(
        headerless.stderr.contains("looks like data")
            && headerless.stderr.contains("add a header line"),
        "{}",
        headerless.stderr
    );
    let mistyped = TestRun::new()
        .file("in.csv", rows)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--email-column", "e-mail"]);
    assert_private(&mistyped);
    assert!(
        mistyped.stderr.contains("`e-mail`") && mistyped.stderr.contains("looks like data"),
        "{}",
        mistyped.stderr
    );
    let log = "jane@acme-widgets.com,open,2024-01-02\nbob@acme-widgets.com,open,2024-01-03\n";
    let headerless_log = refused_log("events.csv", log.into());
    assert_private(&headerless_log);
    assert!(
        headerless_log.stderr.contains("no `email` column")
            && headerless_log.stderr.contains("looks like data"),
        "{}",
        headerless_log.stderr
    );
}

// See: #16 item 9
#[test]
fn control_characters_in_column_names_are_escaped() {
    let hostile = "name\u{1b}[2J,note\u{7}\u{202e}\nJane,x\n";
    let contacts = TestRun::new()
        .file("in.csv", hostile)
        .expect_status(1)
        .stderr_allowed()
        .clean(&[]);
    assert_eq!(contacts.status, 1, "{}", contacts.stderr);
    assert!(
        contacts
            .stderr
            .contains("name\\u{1b}[2J, note\\u{7}\\u{202e}"),
        "{}",
        contacts.stderr
    );
    let mistyped = TestRun::new()
        .file("in.csv", hostile)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--email-column", "mail\u{1b}]0;x\u{7}"]);
    assert_eq!(mistyped.status, 1, "{}", mistyped.stderr);
    let log = refused_log("events.csv", hostile.into());
    assert_eq!(log.status, 1, "{}", log.stderr);
    for run in [&contacts, &mistyped, &log] {
        assert!(
            !run.stderr.contains(['\u{1b}', '\u{7}', '\u{202e}']),
            "{:?}",
            run.stderr
        );
    }
}
