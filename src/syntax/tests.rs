//! Unit tests of the syntax profile.

use super::*;

#[test]
fn issues_are_described_for_listwash_detail() {
    assert_eq!(check("no-at-sign").unwrap_err().describe(), "no @");
    assert_eq!(
        check("Jane <jane@example.com>").unwrap_err().to_string(),
        "display name or angle brackets, not a bare address"
    );
    assert_eq!(
        SyntaxIssue::SpecialUseDomain.to_string(),
        "special-use domain that never receives mail"
    );
}

#[test]
fn ordinary_addresses_pass_and_normalise() {
    let n = check(" Jane.Doe+news@Example.COM ").unwrap();
    assert_eq!(n.as_str(), "jane.doe+news@example.com");
    assert_eq!(
        check("jeff@臺網中心.tw").unwrap().domain(),
        "xn--fiqq24b10vi0d.tw"
    );
}

#[test]
fn bulk_mail_profile_rejections() {
    for (value, issue) in [
        ("", SyntaxIssue::Empty),
        ("a@b\n.com", SyntaxIssue::ControlChar),
        ("a@b.com\u{85}x", SyntaxIssue::ControlChar),
        ("Jane <jane@example.com>", SyntaxIssue::DisplayName),
        ("\"john doe\"@example.com", SyntaxIssue::QuotedLocal),
        ("john doe@example.com", SyntaxIssue::Whitespace),
        ("example.com", SyntaxIssue::NoAt),
        ("user@[192.168.0.1]", SyntaxIssue::IpLiteral),
        ("user@localhost", SyntaxIssue::SingleLabel),
        ("user@192.168.0.1", SyntaxIssue::NumericTld),
        ("user@shop.test", SyntaxIssue::SpecialUseDomain),
        ("user@exa_mple.com", SyntaxIssue::BadLabel),
        ("user@b.c0m", SyntaxIssue::BadTld),
        ("ñoño.@example.com", SyntaxIssue::NonAsciiLocal),
        ("ñoño@@example.com", SyntaxIssue::NonAsciiLocal),
        ("a..b@example.com", SyntaxIssue::BadLocal),
        ("user@exa\u{200b}mple.com", SyntaxIssue::UnsafeChar),
        ("jane\u{a0}doe@example.com", SyntaxIssue::UnsafeChar),
        ("jane\tdoe@example.com", SyntaxIssue::ControlChar),
        ("\u{200b}\u{feff} \t", SyntaxIssue::Empty),
        ("user@mail.example", SyntaxIssue::SpecialUseDomain),
    ] {
        assert_eq!(check(value).unwrap_err(), issue, "{value:?}");
    }
}

proptest::proptest! {
    /// The one-pass check accepts only what the full checks accept, normalised alike
    /// (`check` asserts it in debug builds; this feeds it address-like noise).
    #[test]
    fn the_one_pass_check_agrees_with_the_full_checks(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "a", "Z", "0", ".", "@", "-", "_", "+", "xn--", "--", " ", "\"", "(", "<",
                "com", "co", "test", "1", "\t", "a.b", "..",
            ]),
            0..16,
        ),
    ) {
        let raw = parts.concat();
        if let Some(plain) = plain_address(&raw) {
            proptest::prop_assert_eq!(check_ascii_fully(&raw), Ok(plain));
        }
    }
}

// See: #10 part 1
#[test]
fn padding_is_trimmed_before_judging() {
    for padded in [
        "\tjane@example.com",
        "jane@example.com\r\n",
        "\u{a0}jane@example.com\u{a0}",
        "\u{feff}jane@example.com",
        "\u{200b}jane@example.com\u{200d}",
        "\u{2060}\u{3000}jane@example.com\u{2029}\u{85}",
        "\u{0b}\u{0c}jane@example.com ",
    ] {
        let n = check(padded).unwrap_or_else(|e| panic!("{padded:?}: {e}"));
        assert_eq!(n.as_str(), "jane@example.com", "{padded:?}");
        assert_eq!(n.key(), check("jane@example.com").unwrap().key());
    }
}

// See: #10 part 2
#[test]
fn utf8_local_parts_are_valid_and_need_smtputf8() {
    let composed = check("José@Example.com").unwrap();
    assert!(needs_smtputf8(&composed));
    assert_eq!(composed.as_str(), "josé@example.com");
    // The same mailbox written decomposed (e + U+0301) normalises to the same NFC form.
    let decomposed = check("Jose\u{301}@example.com").unwrap();
    assert_eq!(decomposed.as_str(), composed.as_str());
    assert_eq!(decomposed.key(), composed.key());
    assert!(check("müller@bücher.de").is_ok());
    assert!(!needs_smtputf8(&check("jeff@臺網中心.tw").unwrap()));
    assert_eq!(
        check(&format!("{}@example.com", "é".repeat(33))),
        Err(SyntaxIssue::LocalTooLong)
    );
}

// See: #10 part 3
#[test]
fn domains_must_be_idna_2008_as_written() {
    for value in [
        "test@email¡a.com",
        "test@email€a.com",
        "test@email£a.com",
        "username@domain.com©",
        "smile@☺.com",
        "pizza@🍕.com",
    ] {
        assert!(check(value).is_err(), "{value:?}");
    }
    assert_eq!(
        check("test@email€a.com"),
        Err(SyntaxIssue::DisallowedDomainChar)
    );
    assert_eq!(
        check("someone@ｇｍａｉｌ.com"),
        Err(SyntaxIssue::CompatibilityForm)
    );
    assert_eq!(
        suggestion("someone@ｇｍａｉｌ.com").as_deref(),
        Some("someone@gmail.com")
    );
    assert_eq!(check("a@gmail。com"), Err(SyntaxIssue::CompatibilityForm));
    assert_eq!(suggestion("a@gmail。com").as_deref(), Some("a@gmail.com"));
    assert_eq!(
        check("ｊａｎｅ@gmail.com"),
        Err(SyntaxIssue::CompatibilityForm)
    );
    assert_eq!(
        suggestion("ｊａｎｅ@gmail.com").as_deref(),
        Some("jane@gmail.com")
    );
    assert_eq!(suggestion("test@email€a.com"), None);
    assert_eq!(
        check("jane＠gmail.com"),
        Err(SyntaxIssue::CompatibilityForm)
    );
    assert_eq!(
        suggestion("jane＠gmail.com").as_deref(),
        Some("jane@gmail.com")
    );
    assert_eq!(
        suggestion("jane﹫gmail.com").as_deref(),
        Some("jane@gmail.com")
    );
    // CheckHyphens, CheckBidi, A-labels that decode to disallowed U-labels.
    assert!(check("a@ab--c.com").is_err());
    assert!(check("a@-bücher.de").is_err());
    assert!(check("a@\u{5d0}1.com").is_ok());
    assert!(check("a@1\u{5d0}.com").is_err(), "bidi rule 1");
    assert_eq!(
        check("a@XN--EMAILA-MC1C.com"),
        Err(SyntaxIssue::DisallowedDomainChar)
    );
    // Upper case and decomposed forms are the same name: accepted, normalised.
    assert_eq!(check("a@BÜCHER.de").unwrap().domain(), "xn--bcher-kva.de");
    assert_eq!(
        check("a@bu\u{308}cher.de").unwrap().domain(),
        "xn--bcher-kva.de"
    );
}

// Every special-use name, in any case, through the one-pass path and the full checks (a value
// padded with U+00A0 takes the latter); names one letter longer are ordinary.
#[test]
fn every_special_use_tld_is_refused_in_any_case() {
    for name in SPECIAL_USE_TLDS {
        for tld in [name.to_string(), name.to_ascii_uppercase()] {
            assert_eq!(
                check(&format!("jane@shop.{tld}")).err(),
                Some(SyntaxIssue::SpecialUseDomain),
                "{tld}"
            );
            assert_eq!(
                check(&format!("\u{a0}jane@shop.{tld}")).err(),
                Some(SyntaxIssue::SpecialUseDomain),
                "{tld} through the full checks"
            );
        }
        assert!(check(&format!("jane@shop.{name}x")).is_ok(), "{name}x");
        assert!(check(&format!("jane@shop.x{name}")).is_ok(), "x{name}");
    }
}
