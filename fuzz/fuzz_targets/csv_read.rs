//! The CSV reading path (decompression, encoding and dialect detection, records, rejects) and
//! the decision never panic, and every record read is either a row or a rejected record.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use listwash::decide::{Decider, NotChecked, RowInput};
use listwash::engagement::History;
use listwash::read::{Batch, Input, Item, ReadOptions};
use listwash::rules::RuleSet;
use listwash::suppress::SuppressionSet;

/// The default rules, compiled once (compiling the disposable list is costly).
fn rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES.get_or_init(|| Arc::new(RuleSet::defaults())).clone()
}

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        max_field_bytes: 4096,
        ..ReadOptions::default()
    };
    let Ok(mut input) = Input::from_reader(
        Box::new(std::io::Cursor::new(data.to_vec())),
        Path::new("fuzz.csv"),
        &options,
    ) else {
        return;
    };
    let email = input.email_index();
    let mut decider = Decider::new(
        rules(),
        SuppressionSet::default(),
        History::empty(),
        chrono::NaiveDate::MIN,
        Box::new(NotChecked::default()),
    );
    let mut batch = Batch::default();
    loop {
        // Tiny batches: every record boundary gets to be a batch boundary.
        let Ok(more) = input.read_batch(64, &mut batch) else {
            return;
        };
        let texts: Vec<(u64, String)> = batch
            .items()
            .filter_map(|item| match item {
                Item::Row(row) => {
                    assert_eq!(row.len(), input.header().len());
                    let text = std::str::from_utf8(row.field(email).unwrap_or_default())
                        .expect("rows are UTF-8");
                    Some((row.line, text.to_string()))
                }
                Item::Rejected(rejected) => {
                    assert!(!rejected.error.is_empty());
                    None
                }
            })
            .collect();
        let rows: Vec<RowInput<'_>> = texts
            .iter()
            .map(|(line, e)| RowInput {
                line: *line,
                email: e,
                signup: None,
            })
            .collect();
        let decided = decider.decide_batch(&rows);
        assert_eq!(decided.len(), rows.len());
        assert!(decided.iter().zip(&rows).all(|(d, r)| d.line == r.line));
        if !more {
            break;
        }
    }
});
