//! The email-syntax conformance corpus (tests/fixtures/conformance, see its README for the
//! sources and licences): agree with `marketing_ok` on at least 99% of the cases outside the
//! three debatable rules, and accept nothing the suites call invalid.

use listwash::syntax;

const DEBATABLE: &[&str] = &["surrounding_whitespace", "non_ascii_local", "display_name"];

#[test]
fn syntax_profile_agrees_with_the_conformance_corpus() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conformance/email_syntax_cases.csv"
    );
    let mut reader = csv::Reader::from_path(path).expect("corpus present");
    let (mut scored, mut agree, mut invalid_accepted) = (0, 0, Vec::new());
    let mut disagreements = Vec::new();
    for record in reader.deserialize::<std::collections::HashMap<String, String>>() {
        let case = record.expect("corpus row");
        let address: String =
            serde_json::from_str(&case["address_json"]).expect("address_json is a JSON string");
        let ours = syntax::check(&address).is_ok();
        if ours && case["rfc_valid"] == "invalid" {
            invalid_accepted.push(case["id"].clone());
        }
        if DEBATABLE.contains(&case["marketing_rule"].as_str()) {
            continue;
        }
        scored += 1;
        if ours == (case["marketing_ok"] == "yes") {
            agree += 1;
        } else {
            disagreements.push(format!(
                "{} {:?} want {} ({})",
                case["id"], address, case["marketing_ok"], case["marketing_rule"]
            ));
        }
    }
    assert!(
        invalid_accepted.is_empty(),
        "accepted RFC-invalid cases: {invalid_accepted:?}"
    );
    let rate = agree as f64 / scored as f64;
    assert!(scored > 500, "corpus too small: {scored}");
    assert!(
        rate >= 0.99,
        "agreement {agree}/{scored} = {rate:.4}; disagreements:\n{}",
        disagreements.join("\n")
    );
    // Print what we disagree on, for the record (shown with --nocapture).
    eprintln!(
        "conformance: {agree}/{scored} agree ({:.2}%); {:?}",
        rate * 100.0,
        disagreements
    );
}
