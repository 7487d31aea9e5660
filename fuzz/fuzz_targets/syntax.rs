//! The syntax checker never panics, and what it accepts normalises to a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    if let Ok(normalized) = listwash::syntax::check(value) {
        let again =
            listwash::syntax::check(normalized.as_str()).expect("a normalised address stays valid");
        assert_eq!(
            again.as_str(),
            normalized.as_str(),
            "normalisation is idempotent"
        );
    }
    let _ = listwash::normalize::normalize(value);
});
