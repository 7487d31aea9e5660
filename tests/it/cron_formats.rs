//! Output formats for pipelines: `--output-format parquet`, `--compress` (`.csv.gz`), and
//! `--out-dir -` (clean rows on stdout, the rest in `--report-dir`). See: #13 part 3.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use polars::prelude::*;

use crate::support::run::{Expect, RunResult, TestRun};

/// Rows for every output, and cells that need care: quotes, delimiters, a line break, a
/// formula, non-ASCII text, empty cells, and records with a missing field, an extra field or
/// an over-long field (all three rejected).
fn input() -> String {
    let long = "x".repeat(2_000);
    format!(
        "email,first_name,note\n\
         a@example.com,Ann,\"likes \"\"quotes\"\", and commas\"\n\
         b@example.com,Bo,\"two\nlines\"\n\
         not-an-address,Cy,=1+2\n\
         info@example.com,Dé,ünïcode\n\
         c@example.com,,\n\
         d@example.com,Di\n\
         e@example.com,Ed,x,extra\n\
         f@example.com,Fi,{long}\n\
         g@example.com,Gus,plain\n"
    )
}

fn run_with(extra: &[&str]) -> RunResult {
    TestRun::new()
        .file("in.csv", input())
        .clean(&[&["--max-field-bytes", "1024"], extra].concat())
}

/// The records of a CSV file, header first.
fn csv_records(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

/// A Parquet file read back with polars, as a header and rows of optional text (the
/// `line` column of `rejected` as its number's text, a categorical column as its text).
fn parquet_records(path: &Path) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let frame = ParquetReader::new(file).finish().expect("a Parquet file");
    let header: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut rows = vec![Vec::new(); frame.height()];
    for column in frame.columns() {
        let cells: Vec<Option<String>> = match column.dtype() {
            DataType::String => {
                let cells = column.str().expect("text");
                (0..cells.len())
                    .map(|i| cells.get(i).map(str::to_string))
                    .collect()
            }
            DataType::UInt64 => {
                let cells = column.u64().expect("numbers");
                (0..cells.len())
                    .map(|i| cells.get(i).map(|n| n.to_string()))
                    .collect()
            }
            DataType::Categorical(..) => {
                let text = column.cast(&DataType::String).expect("categories as text");
                let cells = text.str().expect("text");
                (0..cells.len())
                    .map(|i| cells.get(i).map(str::to_string))
                    .collect()
            }
            other => panic!("column {} is {other}, not text", column.name()),
        };
        for (row, cell) in rows.iter_mut().zip(cells) {
            row.push(cell);
        }
    }
    (header, rows)
}

// See: #13 part 3
#[test]
fn parquet_outputs_hold_the_csv_outputs_row_for_row() {
    let csv = run_with(&[]);
    let parquet = run_with(&["--output-format", "parquet"]);
    let counts = csv.report()["outputs"].clone();
    for name in ["clean", "review", "suppressed", "rejected"] {
        assert!(
            counts[name].as_u64().expect("a count") > 0,
            "{name}: {counts}"
        );
        let expected = csv_records(&csv.out_bytes(&format!("{name}.csv")));
        let (header, rows) = parquet_records(&parquet.path(&format!("out/{name}.parquet")));
        assert_eq!(header, expected[0], "{name}: header");
        assert_eq!(rows.len(), expected.len() - 1, "{name}: rows");
        for (got, want) in rows.iter().zip(&expected[1..]) {
            let want: Vec<Option<String>> =
                (0..header.len()).map(|i| want.get(i).cloned()).collect();
            assert_eq!(got, &want, "{name}");
        }
        assert!(
            !parquet.path(&format!("out/{name}.csv")).exists(),
            "{name}.csv next to the Parquet file"
        );
    }
    let review = csv_records(&csv.out_bytes("review.csv"));
    assert_eq!(
        review[0].last().map(String::as_str),
        Some("listwash_detail")
    );
    assert_eq!(parquet.report()["outputs"], counts);
    // The reason is categorical in the decided outputs; every other column is text.
    for name in ["review", "suppressed"] {
        let file = File::open(parquet.path(&format!("out/{name}.parquet"))).expect(name);
        let frame = ParquetReader::new(file).finish().expect("Parquet");
        for column in frame.columns() {
            let categorical = matches!(column.dtype(), DataType::Categorical(..));
            assert_eq!(
                categorical,
                column.name().as_str() == "listwash_reason",
                "{name}: {} is {}",
                column.name(),
                column.dtype()
            );
        }
    }
    let file = File::open(parquet.path("out/clean.parquet")).expect("clean.parquet");
    let frame = ParquetReader::new(file).finish().expect("Parquet");
    assert!(
        frame
            .columns()
            .iter()
            .all(|c| c.dtype() == &DataType::String)
    );
    // The rejected line numbers are numbers.
    let file = File::open(parquet.path("out/rejected.parquet")).expect("rejected.parquet");
    let frame = ParquetReader::new(file).finish().expect("Parquet");
    assert_eq!(
        frame.column("line").expect("line").dtype(),
        &DataType::UInt64
    );
}

// See: #13 part 3
#[test]
fn compressed_outputs_unzip_to_the_plain_csv_bytes() {
    let plain = run_with(&[]);
    let zipped = run_with(&["--compress"]);
    for name in ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"] {
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&zipped.out_bytes(&format!("{name}.gz"))[..])
            .read_to_end(&mut unzipped)
            .unwrap_or_else(|e| panic!("{name}.gz: {e}"));
        assert_eq!(unzipped, plain.out_bytes(name), "{name}.gz");
        assert!(!zipped.path(&format!("out/{name}")).exists(), "{name} left");
    }
    assert_eq!(zipped.report()["outputs"], plain.report()["outputs"]);
}

// See: #13 part 3
#[test]
fn a_shell_pipe_through_stdin_and_stdout_gives_clean_csv_bytes() {
    let plain = run_with(&[]);
    let dir = plain.dir.clone();
    let script = format!(
        "set -e; cat in.csv | '{}' clean - --out-dir - --report-dir piped --no-dns --quiet \
         --as-of 2026-11-01 --max-field-bytes 1024 > piped-clean.csv",
        env!("CARGO_BIN_EXE_listwash")
    );
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("run sh");
    Expect::new().assert_output(&script, &output);
    let piped = std::fs::read(dir.join("piped-clean.csv")).expect("piped clean rows");
    assert_eq!(piped, plain.out_bytes("clean.csv"));
    // The other outputs are in --report-dir, as they would be in --out-dir; no clean.csv.
    for name in ["review.csv", "suppressed.csv", "rejected.csv"] {
        let there = std::fs::read(dir.join("piped").join(name)).expect(name);
        assert_eq!(there, plain.out_bytes(name), "{name}");
    }
    assert!(!dir.join("piped/clean.csv").exists());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("piped/report.json")).expect("report.json"))
            .expect("JSON");
    assert_eq!(report["outputs"], plain.report()["outputs"]);
}

// See: #13 part 3
#[test]
fn clean_rows_on_stdout_need_a_report_dir() {
    let run = TestRun::new()
        .file("in.csv", input())
        .expect_status(2)
        .expect_stderr_contains("--report-dir <DIR>")
        .args(["clean", "in.csv", "--out-dir", "-", "--no-dns", "--quiet"])
        .run();
    assert!(run.stdout.is_empty());
    let run = TestRun::new()
        .file("in.csv", input())
        .expect_status(1)
        .expect_stderr_contains("--report-dir is only used with --out-dir -")
        .args(["clean", "in.csv", "--out-dir", "out", "--report-dir", "r"])
        .args(["--no-dns", "--quiet"])
        .run();
    assert!(!run.path("out").exists() && !run.path("r").exists());
}

// See: #13 part 3
#[test]
fn empty_outputs_are_parquet_files_with_their_columns_and_no_rows() {
    let run = TestRun::new()
        .file("in.csv", "email;first_name\na@example.com;Ann\n")
        .clean(&["--output-format", "parquet"]);
    let (header, rows) = parquet_records(&run.path("out/clean.parquet"));
    assert_eq!(header, ["email", "first_name"]);
    assert_eq!(
        rows,
        [[Some("a@example.com".to_string()), Some("Ann".into())]]
    );
    for name in ["review", "suppressed"] {
        let (header, rows) = parquet_records(&run.path(&format!("out/{name}.parquet")));
        let expected = ["email", "first_name", "listwash_reason", "listwash_detail"];
        assert_eq!(header, expected, "{name}");
        assert!(rows.is_empty(), "{name}");
    }
    let (header, rows) = parquet_records(&run.path("out/rejected.parquet"));
    assert_eq!(header, ["line", "error", "raw"]);
    assert!(rows.is_empty());
}
