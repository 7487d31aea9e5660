//! Promises of `clean` that had no test able to fail (issue 9 part 6): the pipeline's ordering
//! and conservation over many batches, invalid UTF-8 after the encoding was sniffed, and the
//! owner-only mode of the outputs.

use crate::support::run::{OUTPUTS, RunResult, TestRun};

/// Where a generated record must end up.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Clean,
    /// review.csv with this reason.
    Review(&'static str),
    /// suppressed.csv with this reason, and this detail when it is known in advance.
    Suppressed(&'static str, Option<String>),
    /// rejected.csv with this error.
    Rejected(String),
}

/// One input record: its first line, its bytes as written (without the line end), and where it
/// must go.
#[derive(Debug)]
struct Record {
    id: usize,
    line: u64,
    text: Vec<u8>,
    want: Want,
}

const HEADER: &str = "id,email,note,pad";

/// The seeded generator of `examples/support/splitmix.rs`, inlined.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `rows` records of every kind, about 250 bytes each (so 20,000 rows span five 1 MiB batches):
/// unique addresses, role accounts, invalid addresses, duplicates of earlier rows (across
/// batches), quoted fields with newlines and doubled quotes, non-ASCII text, and records that
/// must be rejected (wrong field count, one of them over several lines, NUL, and invalid UTF-8
/// once the first MiB, where the encoding is sniffed, is past).
fn generate(rows: usize) -> (Vec<u8>, Vec<Record>) {
    let mut rng = Rng(9);
    let mut input = format!("{HEADER}\n").into_bytes();
    let mut records = Vec::with_capacity(rows);
    let mut line = 2u64;
    // (line, local part) of clean rows a later duplicate may copy.
    let mut firsts: Vec<(u64, String)> = Vec::new();
    for id in 0..rows {
        let pad = "p".repeat(150 + (rng.next() % 80) as usize);
        let past_sniffing = input.len() > 3 << 19;
        let (text, want): (Vec<u8>, Want) = match rng.next() % 40 {
            0..=3 => (
                format!("{id},info@company{id}.com,role,{pad}").into_bytes(),
                Want::Review("role_account"),
            ),
            4..=6 => (
                format!("{id},not an address {id},bad,{pad}").into_bytes(),
                Want::Suppressed("invalid_syntax", None),
            ),
            7..=9 if !firsts.is_empty() => {
                let (first_line, local) = &firsts[(rng.next() as usize) % firsts.len()];
                (
                    format!("{id},  {}@Acme-Widgets.COM ,dup,{pad}", local.to_uppercase())
                        .into_bytes(),
                    Want::Suppressed(
                        "duplicate",
                        Some(format!("same address as line {first_line}")),
                    ),
                )
            }
            10..=12 => (
                format!(
                    "{id},q{id}@acme-widgets.com,\"first line\nsecond, \"\"quoted\"\"\nthird\",{pad}"
                )
                .into_bytes(),
                Want::Clean,
            ),
            13 => (
                format!("{id},r{id}@acme-widgets.com,ragged").into_bytes(),
                Want::Rejected("3 fields, but the header has 4".into()),
            ),
            14 if id % 2 == 0 => (
                format!("{id},m{id}@acme-widgets.com,\"over\ntwo lines\",{pad},extra").into_bytes(),
                Want::Rejected("5 fields, but the header has 4".into()),
            ),
            15 => (
                format!("{id},n{id}@acme-widgets.com,nul\0here,{pad}").into_bytes(),
                Want::Rejected("NUL byte in the record".into()),
            ),
            16 if past_sniffing => {
                let mut text = format!("{id},w{id}@acme-widgets.com,caf").into_bytes();
                text.push(0xE9); // Windows-1252 `é`: not UTF-8
                text.extend_from_slice(format!(",{pad}").as_bytes());
                (text, Want::Rejected("invalid UTF-8 in the record".into()))
            }
            17 => (
                format!("{id},u{id}@acme-widgets.com,Zürich “quoted”,{pad}").into_bytes(),
                Want::Clean,
            ),
            _ => {
                let local = format!("user{id}");
                firsts.push((line, local.clone()));
                (
                    format!("{id},{local}@acme-widgets.com,plain,{pad}").into_bytes(),
                    Want::Clean,
                )
            }
        };
        input.extend_from_slice(&text);
        input.push(b'\n');
        let lines = 1 + text.iter().filter(|&&b| b == b'\n').count() as u64;
        records.push(Record {
            id,
            line,
            text,
            want,
        });
        line += lines;
    }
    (input, records)
}

/// The records of an output CSV as (their bytes in the file, their fields), header excluded.
fn output_records(run: &RunResult, name: &str) -> Vec<(Vec<u8>, Vec<String>)> {
    let bytes = run.out_bytes(name);
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let mut starts = Vec::new();
    let mut fields = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).expect("output is CSV") {
        starts.push(record.position().expect("position").byte() as usize);
        fields.push(
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        );
    }
    starts.push(bytes.len());
    starts
        .windows(2)
        .zip(fields)
        .map(|(span, fields)| (bytes[span[0]..span[1]].to_vec(), fields))
        .collect()
}

/// Asserts that each output holds exactly the records that belong there, in input order, as
/// the bytes they were read as.
fn assert_outputs_match(run: &RunResult, records: &[Record]) {
    // clean.csv: the header and the rows, byte for byte.
    let mut clean = format!("{HEADER}\n").into_bytes();
    for record in records.iter().filter(|r| r.want == Want::Clean) {
        clean.extend_from_slice(&record.text);
        clean.push(b'\n');
    }
    let got = run.out_bytes("clean.csv");
    if got != clean {
        let at = got.iter().zip(&clean).take_while(|(a, b)| a == b).count();
        panic!(
            "clean.csv differs from the input's clean rows at byte {at} (got {} bytes, want {}):\n\
             got:  {:?}\nwant: {:?}",
            got.len(),
            clean.len(),
            String::from_utf8_lossy(&got[at.saturating_sub(80)..(at + 80).min(got.len())]),
            String::from_utf8_lossy(&clean[at.saturating_sub(80)..(at + 80).min(clean.len())]),
        );
    }

    // review.csv and suppressed.csv: the row as read, then reason and detail.
    for name in ["review.csv", "suppressed.csv"] {
        let want: Vec<(&Record, &'static str, Option<&String>)> = records
            .iter()
            .filter_map(|r| match (&r.want, name) {
                (Want::Review(reason), "review.csv") => Some((r, *reason, None)),
                (Want::Suppressed(reason, detail), "suppressed.csv") => {
                    Some((r, *reason, detail.as_ref()))
                }
                _ => None,
            })
            .collect();
        let got = output_records(run, name);
        assert_eq!(got.len(), want.len(), "{name}: rows");
        for ((bytes, fields), (record, reason, detail)) in got.iter().zip(&want) {
            let mut prefix = record.text.clone();
            prefix.extend_from_slice(format!(",{reason},").as_bytes());
            assert!(
                bytes.starts_with(&prefix) && bytes.ends_with(b"\n"),
                "{name}: record {} (line {}) is not the input row plus its reason:\n\
                 got:  {:?}\nwant: {:?}…",
                record.id,
                record.line,
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&prefix),
            );
            assert_eq!(fields.len(), 6, "{name}: {fields:?}");
            if let Some(detail) = detail {
                assert_eq!(&&fields[5], detail, "{name}: record {}", record.id);
            }
        }
    }

    // rejected.csv: line, error and the record as read.
    let want: Vec<(String, String, String)> = records
        .iter()
        .filter_map(|r| match &r.want {
            Want::Rejected(error) => Some((
                r.line.to_string(),
                error.clone(),
                String::from_utf8_lossy(&r.text).replace('\0', "\u{fffd}"),
            )),
            _ => None,
        })
        .collect();
    let got: Vec<(String, String, String)> = output_records(run, "rejected.csv")
        .into_iter()
        .map(|(_, f)| (f[0].clone(), f[1].clone(), f[2].clone()))
        .collect();
    assert_eq!(got.len(), want.len(), "rejected.csv: records");
    for (got, want) in got.iter().zip(&want) {
        assert_eq!(got, want, "rejected.csv");
    }

    // Every input record is in exactly one output: the ids of the four files, in file order,
    // are the input's ids once each.
    let mut ids: Vec<usize> = ["clean.csv", "review.csv", "suppressed.csv"]
        .iter()
        .flat_map(|name| output_records(run, name))
        .map(|(_, fields)| fields[0].parse().expect("id"))
        .collect();
    let by_line: std::collections::HashMap<String, usize> =
        records.iter().map(|r| (r.line.to_string(), r.id)).collect();
    ids.extend(got.iter().map(|(line, _, _)| by_line[line]));
    ids.sort_unstable();
    assert!(
        ids.iter().copied().eq(0..records.len()),
        "not every record exactly once"
    );
}

// See: #9 part 6 (the pipeline's ordering and conservation)
#[test]
fn every_record_lands_once_in_input_order_across_batches_and_jobs() {
    let (input, records) = generate(20_000);
    assert!(
        input.len() > 4 << 20,
        "spans several batches: {}",
        input.len()
    );
    let count = |f: fn(&Want) -> bool| records.iter().filter(|r| f(&r.want)).count();
    assert!(count(|w| matches!(w, Want::Rejected(e) if e.starts_with("invalid UTF-8"))) > 10);
    assert!(count(|w| matches!(w, Want::Suppressed("duplicate", _))) > 1_000);

    let one = TestRun::new()
        .file("in.csv", &input)
        .clean(&["--jobs", "1"]);
    let three = TestRun::new()
        .file("in.csv", &input)
        .clean(&["--jobs", "3"]);
    assert_eq!(one.report()["input"]["dialect"]["encoding"], "UTF-8");
    assert_outputs_match(&one, &records);
    one.assert_conserved(records.len() as u64);
    assert_outputs_match(&three, &records);
    for name in ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"] {
        assert!(
            one.out_bytes(name) == three.out_bytes(name),
            "{name} differs between --jobs 1 and 3"
        );
    }
    let (mut a, mut b) = (one.report(), three.report());
    // The input paths differ (two temporary directories); the rest of `input` must not.
    a["input"]["path"].take();
    b["input"]["path"].take();
    for key in ["input", "outputs", "reasons", "reasons_applied", "domains"] {
        assert_eq!(a[key], b[key], "report.json `{key}`");
    }
}

/// A file whose first MiB is UTF-8 is read as UTF-8; a later record with invalid UTF-8 goes to
/// rejected.csv with its line number, and the records around it are rows.
// See: #9 (the old test's file was read as Windows-1252, so this path had no test)
#[test]
fn invalid_utf8_after_the_sniffed_mib_is_rejected_at_its_line() {
    let mut input = b"email,city,note\n".to_vec();
    let mut line = 1;
    while input.len() <= 1 << 20 {
        line += 1;
        input.extend_from_slice(format!("a{line}@acme-widgets.com,Zürich,ok\n").as_bytes());
    }
    // Latin-1 `ü` inside a field.
    let latin1_line = line + 1;
    input.extend_from_slice(format!("b{latin1_line}@acme-widgets.com,Z").as_bytes());
    input.extend_from_slice(b"\xFCrich,ok\n");
    let middle_line = latin1_line + 1;
    input.extend_from_slice(format!("c{middle_line}@acme-widgets.com,Köln,ok\n").as_bytes());
    // `é` cut in two by a field boundary: the bytes are valid UTF-8 run together, but the
    // third field starts with a continuation byte.
    let split_line = middle_line + 1;
    input.extend_from_slice(format!("d{split_line}@acme-widgets.com,\"Caf").as_bytes());
    input.extend_from_slice(b"\xC3\",\xA9\n");
    let last_line = split_line + 1;
    input.extend_from_slice(format!("e{last_line}@acme-widgets.com,Genève,ok\n").as_bytes());
    let rows = (last_line - 1) as u64;

    let run = TestRun::new().file("in.csv", &input).clean(&[]);
    assert_eq!(run.report()["input"]["dialect"]["encoding"], "UTF-8");
    let rejected = run.rows("rejected.csv");
    let lines: Vec<(&str, &str)> = rejected
        .iter()
        .map(|r| (r["line"].as_str(), r["error"].as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                latin1_line.to_string().as_str(),
                "invalid UTF-8 in the record"
            ),
            (
                split_line.to_string().as_str(),
                "invalid UTF-8 in the record"
            ),
        ]
    );
    assert!(
        rejected[0]["raw"].starts_with(&format!("b{latin1_line}@acme-widgets.com,Z\u{fffd}rich")),
        "{:?}",
        rejected[0]["raw"]
    );
    run.assert_conserved(rows);
    assert_eq!(run.report()["outputs"]["clean"], rows - 2);
    let clean = run.out("clean.csv");
    assert!(clean.contains(&format!("c{middle_line}@acme-widgets.com,Köln,ok\n")));
    assert!(clean.ends_with(&format!("e{last_line}@acme-widgets.com,Genève,ok\n")));
}

/// Outputs are created readable by their owner only; `--file-mode` shares them.
// See: #9 (the owner-only mode had no test)
#[cfg(unix)]
#[test]
fn outputs_are_owner_only_unless_file_mode_says_otherwise() {
    use std::os::unix::fs::PermissionsExt;
    let input = "email\njane@acme-widgets.com\nbad\ninfo@acme-widgets.com\nx,y\n";
    for (extra, want) in [
        (&[][..], 0o600),
        (&["--file-mode", "644"][..], 0o644),
        (&["--file-mode", "640"][..], 0o640),
    ] {
        let run = TestRun::new().file("in.csv", input).clean(extra);
        for name in OUTPUTS {
            let mode = std::fs::metadata(run.path("out").join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, want, "{name} with {extra:?}: {mode:o}, want {want:o}");
        }
    }
}
