//! The contact reader's tests: records read in batches of any size agree with the `csv`
//! crate; rejections, memory bounds, and files that change while they are read.

use std::io::Cursor;
use std::path::Path;

use super::*;

/// Every record as (line, fields or rejection, raw text), reading `text` in batches of
/// about `target` bytes.
fn records(text: &str, target: usize) -> Vec<(u64, Result<Vec<String>, String>, String)> {
    records_with(text, target, ReadOptions::default().max_field_bytes).0
}

type Records = Vec<(u64, Result<Vec<String>, String>, String)>;

/// As [`records`], with a field size limit; also returns the most text the reader held.
fn records_with(text: &str, target: usize, max_field_bytes: usize) -> (Records, usize) {
    let options = ReadOptions {
        max_field_bytes,
        ..ReadOptions::default()
    };
    let mut input = Input::from_reader(
        Box::new(Cursor::new(text.as_bytes().to_vec())),
        Path::new("t.csv"),
        &options,
    )
    .expect("open");
    let mut batch = Batch::default();
    let mut out = Vec::new();
    let mut held = 0;
    loop {
        let more = input.read_batch(target, &mut batch).expect("read");
        held = held
            .max(input.pending.capacity())
            .max(batch.text.capacity());
        for item in batch.items() {
            out.push(match item {
                Item::Row(row) => (
                    row.line,
                    Ok(row
                        .fields()
                        .map(|f| String::from_utf8_lossy(f).into())
                        .collect()),
                    String::from_utf8_lossy(row.raw()).into(),
                ),
                Item::Rejected(r) => (r.line, Err(r.error.clone()), r.raw.clone()),
            });
        }
        if !more {
            return (out, held);
        }
    }
}

/// The rows the `csv` crate reads from `text` after its header.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .byte_records()
        .map(|r| {
            r.expect("csv")
                .iter()
                .map(|f| String::from_utf8_lossy(f).into())
                .collect()
        })
        .collect()
}

#[test]
fn batches_of_any_size_read_the_same_records() {
    for text in [
        "email,name\na@x.io,A\nb@x.io,B\n",
        "email,name\r\na@x.io,A\r\n\r\nb@x.io,\"B\r\nC\"\r\n",
        "email,name\na@x.io,\"multi\nline \"\"quoted\"\"\"\n\n\nb@x.io,B",
        "email,name\na@x.io,\"\"\nb@x.io,\"x\"\"\"\nc,\"\"\"\"\n",
        "email,name\na@x.io,x\"y\nb@x.io,\"open\nrest\n",
        "email,name\ra@x.io,A\rb@x.io,B\r",
        "email,name\na@x.io\nb@x.io,B,extra\nc@x.io,\"\u{e9}\"\n",
        "\n\nemail,name\n\na@x.io,A\n",
        // An empty last field after a batch whose bytes there were inside a character.
        "email,name\nb@x.io,\u{e9}\nab@x.io,\n",
    ] {
        let whole = records(text, usize::MAX);
        let expected = csv_rows(text);
        assert_eq!(whole.len(), expected.len(), "{text:?}");
        for ((_, fields, _), want) in whole.iter().zip(&expected) {
            if let Ok(fields) = fields {
                assert_eq!(fields, want, "{text:?}");
            }
        }
        for target in 1..=text.len() {
            assert_eq!(
                records(text, target),
                whole,
                "{text:?} in batches of {target}"
            );
        }
    }
}

#[test]
fn lines_raw_text_and_rejections() {
    let text =
        "email,name\r\na@x.io,A\r\n\r\nb@x.io,\"B\r\nC\"\r\nshort\r\nc@x.io,\"never closed\r\n";
    let got = records(text, 8);
    let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
    assert_eq!(lines, [2, 4, 6, 7]);
    assert_eq!(got[1].2, "b@x.io,\"B\r\nC\"");
    assert_eq!(got[2].1, Err("1 fields, but the header has 2".to_string()));
    assert_eq!(got[3].1, Err("a quoted field is never closed".to_string()));
}

#[test]
fn a_record_longer_than_any_row_is_rejected_alone_in_any_batches() {
    // Two fields of at most 10 bytes: no row is longer than 46 bytes.
    let text = format!(
        "email,name\na@x.io,\"{}\"\r\nb@x.io,B\nc@x.io,C\n",
        "y\n".repeat(100)
    );
    let (whole, _) = records_with(&text, usize::MAX, 10);
    let lines: Vec<u64> = whole.iter().map(|r| r.0).collect();
    assert_eq!(lines, [2, 103, 104]);
    assert_eq!(
        whole[0].1,
        Err(
            "the record is 209 bytes, more than 2 fields within the limit of 10 bytes can be"
                .into()
        )
    );
    assert_eq!(whole[1].1, Ok(vec!["b@x.io".to_string(), "B".to_string()]));
    for target in 1..text.len() {
        assert_eq!(
            records_with(&text, target, 10).0,
            whole,
            "batches of {target}"
        );
    }
}

#[test]
fn an_unterminated_quote_is_read_past_in_bounded_memory() {
    let text = format!("email,name\na@x.io,\"{}", "z\n".repeat(4 << 20));
    for target in [64, BATCH_BYTES] {
        let (got, held) = records_with(&text, target, 10);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 2);
        assert_eq!(got[0].1, Err("a quoted field is never closed".into()));
        assert!(got[0].2.ends_with('…'));
        // About a batch (buffers grow by doubling), not the 8 MiB record.
        assert!(
            held <= 3 * BATCH_BYTES,
            "held {held} bytes of an 8 MiB record"
        );
    }
}

proptest::proptest! {
    #[test]
    fn any_text_reads_the_same_in_any_batches(
        body in proptest::collection::vec(
            proptest::sample::select(vec!["a", "b@x.io", ",", "\"", "\n", "\r", " ", "\r\n", "\u{e9}", ",\"q\"", "\"\n"]),
            0..60,
        ),
        target in 1usize..40,
    ) {
        let text = format!("email,name\n{}", body.concat());
        let whole = records(&text, usize::MAX);
        let expected = csv_rows(&text);
        proptest::prop_assert_eq!(whole.len(), expected.len());
        for ((_, fields, _), want) in whole.iter().zip(&expected) {
            if let Ok(fields) = fields {
                proptest::prop_assert_eq!(fields, want);
            }
        }
        proptest::prop_assert_eq!(records(&text, target), whole);
        // A field limit so small that long records are skipped rather than held.
        proptest::prop_assert_eq!(
            records_with(&text, target, 2).0,
            records_with(&text, usize::MAX, 2).0
        );
    }
}

// See: #16 item 6
#[test]
fn a_file_truncated_while_it_is_read_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("contacts.csv");
    let mut text = String::from("email,name\n");
    while text.len() < 3 << 20 {
        text.push_str("someone@example.com,Some One\n");
    }
    std::fs::write(&path, &text).expect("write");
    let source = InputSource::Path(path.clone());
    let read_all = |input: &mut Input| -> crate::error::Result<()> {
        let mut batch = Batch::default();
        while input.read_batch(BATCH_BYTES, &mut batch)? {}
        Ok(())
    };
    // Unchanged: read to the end.
    let mut input = Input::open(&source, &ReadOptions::default()).expect("open");
    read_all(&mut input).expect("an unchanged file reads");
    // Another program truncates the file after it was opened.
    let mut input = Input::open(&source, &ReadOptions::default()).expect("open");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(2 << 20))
        .expect("truncate");
    let message = read_all(&mut input).expect_err("truncated").to_string();
    assert!(
        message.contains("contacts.csv") && message.contains("truncated while it was read"),
        "{message}"
    );
}
