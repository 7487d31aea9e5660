//! Issue 10 parts 1–4 end to end: padded cells, internationalised mailboxes, strict IDNA 2008
//! domains, the longer role list; and the IDNA 2008 cases built from Unicode's IdnaTestV2
//! (tests/fixtures/idna2008, see its README).

use listwash::syntax::{self, SyntaxIssue};

/// The IDNA 2008 cases: every `SOURCE.com` of IdnaTestV2 that a strict IDNA 2008
/// implementation (Python `idna`, no mapping) accepts, we accept with the same A-labels; every
/// one it rejects, we reject.
// See: #10 part 3
#[test]
fn idna_2008_cases_from_idna_test_v2_agree_with_a_strict_implementation() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/idna2008/idna_cases.csv"
    );
    let mut reader = csv::Reader::from_path(path).expect("fixture present");
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    let mut disagreements = Vec::new();
    for record in reader.deserialize::<std::collections::HashMap<String, String>>() {
        let case = record.expect("fixture row");
        let domain: String = serde_json::from_str(&case["domain_json"]).expect("JSON string");
        let ours = syntax::check(&format!("user@{domain}"));
        let outcome = match (case["expected"].as_str(), &ours) {
            ("valid", Ok(n)) if n.domain() == case["a_label"] => "valid",
            // Invisible characters (ZWJ, ZWNJ) are refused by the bulk-mail profile itself.
            ("valid", Err(SyntaxIssue::UnsafeChar)) => "valid but invisible characters",
            ("invalid", Err(_)) => "invalid",
            ("compatibility_form", Err(SyntaxIssue::CompatibilityForm)) => "compatibility form",
            ("unjudged", _) => "unjudged",
            _ => {
                disagreements.push(format!(
                    "line {} {domain:?}: {} {} ({}), ours {:?}",
                    case["line"],
                    case["expected"],
                    case["a_label"],
                    case["basis"],
                    ours.as_ref().map(|n| n.domain())
                ));
                "disagreement"
            }
        };
        *counts.entry(outcome).or_default() += 1;
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [
            ("compatibility form", 31),
            ("invalid", 5613),
            ("unjudged", 38),
            ("valid", 284),
            ("valid but invisible characters", 18),
        ]
    );
}
