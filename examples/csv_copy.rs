//! The baseline of the end-to-end benchmark (`scripts/bench_e2e.sh`): a plain, single-threaded
//! read-and-write of a CSV file with the `csv` crate, reusing one `ByteRecord`. No parsing of
//! values, no checks: what any tool that reads a CSV and writes it back costs at least.
//!
//! ```text
//! cargo run --release --example csv_copy -- INPUT.csv OUTPUT.csv
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn copy(input: &str, output: &str) -> Result<u64, csv::Error> {
    let mut reader = csv::Reader::from_path(input)?;
    let mut writer = csv::Writer::from_path(output)?;
    writer.write_byte_record(reader.byte_headers()?)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while reader.read_byte_record(&mut record)? {
        writer.write_byte_record(&record)?;
        rows += 1;
    }
    writer.flush()?;
    Ok(rows)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: csv_copy INPUT.csv OUTPUT.csv");
        return ExitCode::from(2);
    };
    match copy(input, output) {
        Ok(rows) => {
            println!("{rows} rows copied");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("csv_copy: {input} -> {output}: {err}");
            ExitCode::FAILURE
        }
    }
}
