//! Unit tests of the pipeline: ordering, conservation, independence from threads and batches.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::progress::Silent;
use crate::read::BATCH_BYTES;
use crate::rules::RuleSet;

/// Rows with an `id` column, every kind of record: duplicates, invalid addresses, quoted
/// fields with delimiters and newlines, ragged records, role and disposable addresses.
fn input(rows: usize) -> String {
    let mut text = String::from("id,email,note\n");
    for i in 0..rows {
        let line = match i % 11 {
            0 => format!("{i},dup{}@example.com,plain\n", i % 7),
            1 => format!("{i},not an address,\"quoted, with comma\"\n"),
            2 => format!("{i},person{i}@example.org,\"two\nlines\"\n"),
            3 => format!("{i},ragged@example.com\n"),
            4 => format!("{i},info@company{}.com,role\n", i % 5),
            5 => format!("{i},x{i}@mailinator.com,\"say \"\"hi\"\"\"\n"),
            _ => format!("{i},user{i}@example.net,n{i}\n"),
        };
        text.push_str(&line);
    }
    text
}

fn run(input: &Path, out: &Path, jobs: usize, batch_bytes: usize) -> Report {
    let config = config(input, out, jobs, batch_bytes);
    clean(&config, &Silent, Arc::new(|_: &str| {})).expect("clean")
}

fn config(input: &Path, out: &Path, jobs: usize, batch_bytes: usize) -> CleanConfig {
    CleanConfig {
        jobs: Some(jobs),
        batch_bytes,
        ..CleanConfig::for_test(input, out)
    }
}

fn read(out: &Path, name: &str) -> Vec<u8> {
    std::fs::read(out.join(name)).expect("output")
}

/// The `id`s of an output's rows (first column), in file order.
fn ids(out: &Path, name: &str) -> Vec<u64> {
    let mut reader = csv::Reader::from_path(out.join(name)).expect("open output");
    reader
        .records()
        .map(|r| r.expect("record")[0].parse().expect("id"))
        .collect()
}

#[test]
fn outputs_do_not_depend_on_batch_sizes_or_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.csv");
    // Batches are at least one 64 KiB read: 40,000 rows (1.4 MB) make twenty or more.
    std::fs::write(&path, input(40_000)).expect("write");
    let reference = dir.path().join("ref");
    run(&path, &reference, 2, BATCH_BYTES);
    for (jobs, batch) in [(1, 1), (3, 100_000), (4, 1)] {
        let out = dir.path().join(format!("out-{jobs}-{batch}"));
        run(&path, &out, jobs, batch);
        for name in crate::write::CSV_OUTPUTS {
            assert!(
                read(&out, name) == read(&reference, name),
                "{name} differs with {jobs} jobs and {batch}-byte batches"
            );
        }
    }
}

#[test]
fn every_record_lands_in_exactly_one_output_in_input_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.csv");
    let rows = 40_000;
    std::fs::write(&path, input(rows)).expect("write");
    let out = dir.path().join("out");
    let report = run(&path, &out, 3, 1);
    let mut all = BTreeSet::new();
    for name in ["clean.csv", "review.csv", "suppressed.csv"] {
        let ids = ids(&out, name);
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{name} is out of order"
        );
        for id in ids {
            assert!(all.insert(id), "id {id} written twice");
        }
    }
    // The ragged rows are rejected, with their line numbers, in order.
    let rejected = ids(&out, "rejected.csv");
    assert_eq!(rejected.len(), (0..rows).filter(|i| i % 11 == 3).count());
    assert!(rejected.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all.len() + rejected.len(), rows);
    let expected: BTreeSet<u64> = (0..rows as u64).filter(|i| i % 11 != 3).collect();
    assert_eq!(all, expected);
    assert_eq!(report.outputs.total(), rows as u64);
    assert_eq!(report.outputs.rejected, rejected.len() as u64);
}

/// A domain source that says its answers are slow, so batches wait in the DNS window.
struct Slow(crate::decide::DomainTable);

impl crate::decide::DomainSource for Slow {
    fn submit(&mut self, domains: &[&str]) {
        self.0.submit(domains);
    }
    fn answers(&mut self, domains: &[&str]) -> Vec<Arc<crate::resolve::DomainInfo>> {
        self.0.answers(domains)
    }
    fn is_slow(&self) -> bool {
        true
    }
    fn finish(self: Box<Self>) -> Option<crate::resolve::DnsStats> {
        None
    }
}

#[test]
fn batches_waiting_for_dns_answers_are_written_in_input_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.csv");
    std::fs::write(&path, input(40_000)).expect("write");
    let reference = dir.path().join("ref");
    run(&path, &reference, 2, BATCH_BYTES);
    let out = dir.path().join("slow");
    let config = config(&path, &out, 2, 1);
    let report = clean_with(&config, &Silent, |_| {
        Ok(Decider::new(
            Arc::new(RuleSet::defaults()),
            crate::suppress::SuppressionSet::default(),
            crate::engagement::History::empty(),
            chrono::NaiveDate::MIN,
            Box::new(Slow(crate::decide::DomainTable::new())),
        ))
    })
    .expect("clean");
    // Every domain is missing from the table: every valid row is dns_unknown, in order.
    assert!(report.reasons["dns_unknown"] > 500);
    let reviewed = ids(&out, "review.csv");
    assert!(
        reviewed.windows(2).all(|w| w[0] < w[1]),
        "review.csv is out of order"
    );
    assert_eq!(read(&out, "rejected.csv"), read(&reference, "rejected.csv"));
    assert_eq!(
        reviewed.len() + ids(&out, "suppressed.csv").len() + ids(&out, "rejected.csv").len(),
        40_000
    );
}

#[test]
fn kept_rows_are_written_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.csv");
    let text = input(500);
    std::fs::write(&path, &text).expect("write");
    let out = dir.path().join("out");
    run(&path, &out, 2, 300);
    let clean = String::from_utf8(read(&out, "clean.csv")).expect("utf-8");
    // Every kept record appears in the input exactly as written (quotes and all).
    let mut records = clean.split_inclusive("\n").peekable();
    assert_eq!(records.next(), Some("id,email,note\n"));
    let mut kept = 0;
    let mut record = String::new();
    for piece in records {
        record.push_str(piece);
        if record.matches('"').count().is_multiple_of(2) {
            assert!(text.contains(&record), "not in the input: {record:?}");
            kept += 1;
            record.clear();
        }
    }
    assert!(kept > 100, "only {kept} kept rows");
    assert!(clean.contains("\"two\nlines\""));
}

#[test]
fn the_report_describes_the_lists_and_logs_the_run_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.csv");
    std::fs::write(&path, "email\na@example.com\nb@example.com\n").expect("write");
    let list = dir.path().join("suppress.txt");
    std::fs::write(&list, "b@example.com\n").expect("write");
    let log = dir.path().join("events.csv");
    std::fs::write(
        &log,
        "email,event,timestamp\na@example.com,open,2026-01-01\n",
    )
    .expect("write");
    let mut config = CleanConfig::for_test(&path, &dir.path().join("out"));
    config.decide.suppress = vec![list];
    config.decide.engagement = vec![log.clone()];
    let report = clean(&config, &Silent, Arc::new(|_: &str| {})).expect("clean");
    assert_eq!(report.suppression_lists.len(), 1);
    assert_eq!(report.suppression_lists[0].addresses, 1);
    let engagement = report.engagement.expect("engagement report");
    assert_eq!(engagement.logs.files, [log]);
    assert_eq!(report.reasons["suppression_list"], 1);
}
