//! The email-syntax conformance corpus (tests/fixtures/conformance, see its README for the
//! sources and licences): agree with `marketing_ok` on every case outside the three debatable
//! rules, as many cases as the README says, and accept nothing the suites call invalid.
//!
//! Padded values (white space, CR, LF, TAB, zero-width characters at either end) are judged
//! as their trimmed value: listwash trims before judging (#10 part 1), so for those cases the
//! test asserts that the verdict is the trimmed value's, and counts them apart.

use listwash::normalize;
use listwash::syntax;

const DEBATABLE: &[&str] = &["surrounding_whitespace", "non_ascii_local", "display_name"];

/// The number in the README's "agrees with all N scored cases".
fn readme_scored_cases() -> usize {
    let readme = include_str!("../../README.md");
    let (_, after) = readme
        .split_once("agrees with all ")
        .expect("the README states the conformance figure");
    let number = after
        .split_whitespace()
        .next()
        .expect("a number after `all`");
    assert!(
        after
            .trim_start_matches(number)
            .trim_start()
            .starts_with("scored cases"),
        "README: `agrees with all {number} scored cases` expected"
    );
    number.parse().expect("the README's count is a number")
}

// See: #9 (the floor was 99% while the README says "all 538")
#[test]
fn syntax_profile_agrees_with_every_scored_case_of_the_conformance_corpus() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conformance/email_syntax_cases.csv"
    );
    let mut reader = csv::Reader::from_path(path).expect("corpus present");
    let (mut scored, mut invalid_accepted) = (0, Vec::new());
    let (mut padded, mut disagreements) = (0, Vec::new());
    for record in reader.deserialize::<std::collections::HashMap<String, String>>() {
        let case = record.expect("corpus row");
        let address: String =
            serde_json::from_str(&case["address_json"]).expect("address_json is a JSON string");
        let ours = syntax::check(&address).is_ok();
        let trimmed = normalize::trim(&address);
        if trimmed != address {
            // See: #10 part 1
            padded += 1;
            if syntax::check(&address) != syntax::check(trimmed) {
                disagreements.push(format!("{} {address:?}: not judged as trimmed", case["id"]));
            }
            continue;
        }
        if ours && case["rfc_valid"] == "invalid" {
            invalid_accepted.push(case["id"].clone());
        }
        if DEBATABLE.contains(&case["marketing_rule"].as_str()) {
            continue;
        }
        scored += 1;
        if ours != (case["marketing_ok"] == "yes") {
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
    assert_eq!(
        scored,
        readme_scored_cases(),
        "scored cases in the corpus vs the README's figure"
    );
    assert_eq!(padded, 39, "padded cases in the corpus");
    assert!(
        disagreements.is_empty(),
        "{} of {scored} scored cases disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
