//! Property: for any CSV, every input record lands in exactly one output, in input order.

use proptest::prelude::*;

use crate::support::run::TestRun;

/// A cell: plain text, an address-like value, or text that needs quoting.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,6}",
        "[a-z]{1,5}@[a-z]{1,6}\\.(com|net|co\\.uk)",
        "[a-z ,\"\n=+-]{0,8}",
        Just("info@acme-widgets.com".to_string()),
        Just(String::new()),
    ]
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_record_lands_in_exactly_one_output_in_order(
        rows in prop::collection::vec((cell(), cell(), any::<bool>()), 0..40)
    ) {
        // Column `id` tags each record; ragged records (third value true) get an extra field.
        let mut input = String::from("id,email,note\n");
        let mut expected_rows = Vec::new();
        let mut expected_rejected = 0;
        for (i, (email, note, ragged)) in rows.iter().enumerate() {
            input.push_str(&format!("r{i},{},{}", quote(email), quote(note)));
            if *ragged {
                input.push_str(",extra");
                expected_rejected += 1;
            } else {
                expected_rows.push(format!("r{i}"));
            }
            input.push('\n');
        }
        let run = TestRun::new().file("in.csv", &input).clean(&["--jobs", "2"]);
        let mut seen = Vec::new();
        for name in ["clean.csv", "review.csv", "suppressed.csv"] {
            let ids: Vec<String> = run.rows(name).into_iter().map(|r| r["id"].clone()).collect();
            let positions: Vec<usize> = ids.iter().map(|id| expected_rows.iter().position(|e| e == id).expect("known id")).collect();
            prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "{} out of order: {:?}", name, ids);
            seen.extend(ids);
        }
        seen.sort();
        let mut want = expected_rows.clone();
        want.sort();
        prop_assert_eq!(seen, want);
        prop_assert_eq!(run.rows("rejected.csv").len(), expected_rejected);
    }
}
