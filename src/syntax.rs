//! Syntax: is a cell value an address a bulk mailer should send to?
//!
//! Consumes a raw cell value, produces the [`Normalized`] address or the first
//! [`SyntaxIssue`] found. The profile is stricter than RFC 5322 (see the README's table):
//! no quoted local parts, comments, IP literals, display names, single-label or special-use
//! domains, non-ASCII local parts, control or invisible characters. `email_address` gives the
//! RFC baseline; the checks here add the bulk-mail profile. Never touches the network.

use std::borrow::Cow;
use std::fmt;

use email_address::{EmailAddress, Options};

use crate::normalize::{Normalized, normalize};

/// Why a value is not a deliverable address (the first failing check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyntaxIssue {
    /// The cell is empty.
    Empty,
    /// A control character (CR, LF, TAB, NUL, DEL, …).
    ControlChar,
    /// An invisible, formatting, private-use or non-character code point.
    UnsafeChar,
    /// A `(comment)`.
    Comment,
    /// A display name or angle brackets (`Jane <jane@example.com>`).
    DisplayName,
    /// White space inside the value.
    Whitespace,
    /// A quoted local part (`"john doe"@example.com`).
    QuotedLocal,
    /// No `@`.
    NoAt,
    /// Nothing before the `@`.
    NoLocal,
    /// Nothing after the `@`.
    NoDomain,
    /// An IP-address literal (`user@[192.0.2.1]`).
    IpLiteral,
    /// A character or dot placement not allowed in a local part.
    BadLocal,
    /// A non-ASCII local part (needs SMTPUTF8, which most senders cannot deliver to).
    NonAsciiLocal,
    /// A local part over 64 octets.
    LocalTooLong,
    /// An invalid domain label (empty, leading/trailing hyphen, bad character, bad IDN).
    BadLabel,
    /// A domain with a single label (`user@localhost`).
    SingleLabel,
    /// A domain label over 63 octets.
    LabelTooLong,
    /// A numeric top-level domain (`user@192.168.0.1`).
    NumericTld,
    /// A top-level domain that is not at least two letters.
    BadTld,
    /// A special-use domain (`.test`, `.invalid`, `.localhost`, `.onion`, …).
    SpecialUseDomain,
    /// A domain over 253 octets.
    DomainTooLong,
    /// An address over 254 octets.
    AddressTooLong,
}

impl SyntaxIssue {
    /// A short explanation for `listwash_detail`.
    pub fn describe(self) -> &'static str {
        match self {
            SyntaxIssue::Empty => "empty address",
            SyntaxIssue::ControlChar => "control character in the address",
            SyntaxIssue::UnsafeChar => "invisible or non-printing character in the address",
            SyntaxIssue::Comment => "comment in parentheses",
            SyntaxIssue::DisplayName => "display name or angle brackets, not a bare address",
            SyntaxIssue::Whitespace => "white space inside the address",
            SyntaxIssue::QuotedLocal => "quoted local part",
            SyntaxIssue::NoAt => "no @",
            SyntaxIssue::NoLocal => "nothing before the @",
            SyntaxIssue::NoDomain => "nothing after the @",
            SyntaxIssue::IpLiteral => "IP-address literal instead of a domain",
            SyntaxIssue::BadLocal => "invalid character or dot in the local part",
            SyntaxIssue::NonAsciiLocal => "non-ASCII local part (needs SMTPUTF8)",
            SyntaxIssue::LocalTooLong => "local part over 64 characters",
            SyntaxIssue::BadLabel => "invalid domain label",
            SyntaxIssue::SingleLabel => "domain has no top-level domain",
            SyntaxIssue::LabelTooLong => "domain label over 63 characters",
            SyntaxIssue::NumericTld => "numeric top-level domain",
            SyntaxIssue::BadTld => "invalid top-level domain",
            SyntaxIssue::SpecialUseDomain => "special-use domain that never receives mail",
            SyntaxIssue::DomainTooLong => "domain over 253 characters",
            SyntaxIssue::AddressTooLong => "address over 254 characters",
        }
    }
}

impl fmt::Display for SyntaxIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Special-use top-level names (RFC 6761, RFC 7686, RFC 9476, ICANN's `.internal`).
const SPECIAL_USE_TLDS: &[&str] = &[
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
    "test",
];

/// Checks `raw` against the bulk-mail profile and normalises it.
///
/// Surrounding spaces are trimmed first (they are an export artefact, not part of the
/// address); every other check applies to the value as written.
///
/// # Errors
/// The first [`SyntaxIssue`] found.
pub fn check(raw: &str) -> Result<Normalized, SyntaxIssue> {
    if raw.is_ascii() {
        check_ascii(raw)
    } else {
        check_unicode(raw)
    }
}

/// Byte classes of ASCII, for one pass over an address.
const ATEXT: u8 = 1; // RFC 5322 atext
const LDH: u8 = 2; // letter, digit, hyphen
const CONTROL: u8 = 4;
const ANGLE: u8 = 8; // < >
const PAREN: u8 = 16; // ( )
const QUOTE: u8 = 32; // "
const SPACE: u8 = 64;

static CLASS: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_alphanumeric() {
            class |= ATEXT | LDH;
        }
        if c.is_ascii_control() {
            class |= CONTROL;
        }
        table[b] = class;
        b += 1;
    }
    let specials = b"!#$%&'*+-/=?^_`{|}~";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] |= ATEXT;
        i += 1;
    }
    table[b'-' as usize] |= LDH;
    table[b'<' as usize] |= ANGLE;
    table[b'>' as usize] |= ANGLE;
    table[b'(' as usize] |= PAREN;
    table[b')' as usize] |= PAREN;
    table[b'"' as usize] |= QUOTE;
    table[b' ' as usize] |= SPACE;
    table
};

fn class(b: u8) -> u8 {
    CLASS[usize::from(b & 0x7f)]
}

/// ASCII values: a plain address is accepted in one pass; anything else gets the full checks,
/// which say what is wrong.
fn check_ascii(raw: &str) -> Result<Normalized, SyntaxIssue> {
    match plain_address(raw) {
        Some(normalized) => {
            debug_assert_eq!(
                check_ascii_fully(raw).as_ref(),
                Ok(&normalized),
                "{raw:?}: the one-pass check and the full checks disagree"
            );
            Ok(normalized)
        }
        None => check_ascii_fully(raw),
    }
}

/// The common case in one pass over the bytes: an ASCII address the profile accepts, with no
/// IDNA label. `None` for anything else, including valid `xn--` domains (the full checks then
/// validate them, or name the problem).
fn plain_address(raw: &str) -> Option<Normalized> {
    let bytes = raw.as_bytes();
    let start = bytes.iter().position(|&b| b != b' ')?;
    let end = bytes.iter().rposition(|&b| b != b' ')? + 1;
    let text = raw.get(start..end)?;
    let value = text.as_bytes();
    let at = memchr::memrchr(b'@', value)?;
    let (local, domain) = (&value[..at], &value[at + 1..]);
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || value.len() > 254 {
        return None;
    }
    let mut previous_dot = true; // no leading dot
    for &b in local {
        let dot = b == b'.';
        if (dot && previous_dot) || (!dot && class(b) & ATEXT == 0) {
            return None;
        }
        previous_dot = dot;
    }
    if previous_dot {
        return None;
    }
    // Labels: LDH, 1 to 63 bytes, no hyphen at either end, no `ab--` (IDNA) form.
    let (mut i, mut labels) = (0, 0);
    let tld = loop {
        let start = i;
        while i < domain.len() && domain[i] < 0x80 && class(domain[i]) & LDH != 0 {
            i += 1;
        }
        let label = &domain[start..i];
        let (&first, &last) = (label.first()?, label.last()?);
        let reserved = label.get(2..4) == Some(b"--");
        if label.len() > 63 || first == b'-' || last == b'-' || reserved {
            return None;
        }
        labels += 1;
        match domain.get(i) {
            None => break label,
            Some(b'.') => i += 1,
            Some(_) => return None,
        }
    };
    if labels < 2 || tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    if SPECIAL_USE_TLDS
        .iter()
        .any(|special| special.as_bytes().eq_ignore_ascii_case(tld))
    {
        return None;
    }
    Some(Normalized::from_ascii(text, at))
}

/// The full checks for ASCII values, byte-wise: one pass finds every character class the
/// checks need.
fn check_ascii_fully(raw: &str) -> Result<Normalized, SyntaxIssue> {
    if raw.bytes().any(|b| class(b) & CONTROL != 0) {
        return Err(SyntaxIssue::ControlChar);
    }
    let value = raw.trim_matches(' ');
    if value.is_empty() {
        return Err(SyntaxIssue::Empty);
    }
    let seen = value.bytes().fold(0u8, |acc, b| acc | class(b));
    if seen & ANGLE != 0 {
        return Err(SyntaxIssue::DisplayName);
    }
    if seen & PAREN != 0 {
        return Err(SyntaxIssue::Comment);
    }
    if seen & QUOTE != 0 {
        return Err(SyntaxIssue::QuotedLocal);
    }
    if seen & SPACE != 0 {
        return Err(SyntaxIssue::Whitespace);
    }
    let (local, ascii_domain) = check_parts(value)?;
    // For ASCII the profile (dot-atom local part, LDH labels) is a strict subset of RFC 5322;
    // the conformance corpus and debug builds hold it to email_address's verdict.
    debug_assert!(
        rfc_ok(local, &ascii_domain),
        "{value:?} passed the profile but not RFC 5322"
    );
    normalize(value).ok_or(SyntaxIssue::BadLabel)
}

/// Values with non-ASCII characters: invisible characters, Unicode white space, IDNA.
fn check_unicode(raw: &str) -> Result<Normalized, SyntaxIssue> {
    if raw.chars().any(char::is_control) {
        return Err(SyntaxIssue::ControlChar);
    }
    let value = raw.trim_matches(' ');
    if value.chars().any(is_unsafe) {
        return Err(SyntaxIssue::UnsafeChar);
    }
    if value.contains(['<', '>']) {
        return Err(SyntaxIssue::DisplayName);
    }
    if value.contains(['(', ')']) {
        return Err(SyntaxIssue::Comment);
    }
    if value.contains('"') {
        return Err(SyntaxIssue::QuotedLocal);
    }
    if value.chars().any(char::is_whitespace) {
        return Err(SyntaxIssue::Whitespace);
    }
    let (local, ascii_domain) = check_parts(value)?;
    // The RFC baseline: anything our profile lets through must also parse as RFC 5322.
    if !rfc_ok(local, &ascii_domain) {
        return Err(SyntaxIssue::BadLocal);
    }
    normalize(value).ok_or(SyntaxIssue::BadLabel)
}

/// The checks after the character classes: local part, domain, total length. Returns the
/// local part and the domain in ASCII.
fn check_parts(value: &str) -> Result<(&str, Cow<'_, str>), SyntaxIssue> {
    let (local, domain) = split_at_sign(value)?;
    check_local(local)?;
    let ascii_domain = check_domain(domain)?;
    if local.len() + 1 + ascii_domain.len() > 254 {
        return Err(SyntaxIssue::AddressTooLong);
    }
    Ok((local, ascii_domain))
}

fn split_at_sign(value: &str) -> Result<(&str, &str), SyntaxIssue> {
    let Some(at) = value.rfind('@') else {
        return Err(SyntaxIssue::NoAt);
    };
    let (local, domain) = (&value[..at], &value[at + 1..]);
    if local.is_empty() {
        return Err(SyntaxIssue::NoLocal);
    }
    if domain.is_empty() {
        return Err(SyntaxIssue::NoDomain);
    }
    if domain.starts_with('[') {
        return Err(SyntaxIssue::IpLiteral);
    }
    Ok((local, domain))
}

/// Returns true if and only if `email_address` parses `local@domain` as an RFC 5322 address
/// (no display text, no domain literal, a TLD required).
fn rfc_ok(local: &str, ascii_domain: &str) -> bool {
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    EmailAddress::parse_with_options(&format!("{local}@{ascii_domain}"), options).is_ok()
}

fn check_local(local: &str) -> Result<(), SyntaxIssue> {
    if !local.is_ascii() {
        return Err(SyntaxIssue::NonAsciiLocal);
    }
    if local.len() > 64 {
        return Err(SyntaxIssue::LocalTooLong);
    }
    let bytes = local.as_bytes();
    let mut previous_dot = true; // no leading dot
    for &b in bytes {
        let dot = b == b'.';
        if (dot && previous_dot) || (!dot && class(b) & ATEXT == 0) {
            return Err(SyntaxIssue::BadLocal);
        }
        previous_dot = dot;
    }
    if previous_dot {
        return Err(SyntaxIssue::BadLocal); // trailing dot
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<Cow<'_, str>, SyntaxIssue> {
    let ascii = if domain.is_ascii() && !has_ace_label(domain) {
        Cow::Borrowed(domain)
    } else {
        // UTS 46 with STD3 rules validates U-labels and existing A-labels alike.
        Cow::Owned(idna::domain_to_ascii_strict(domain).map_err(|_| SyntaxIssue::BadLabel)?)
    };
    if ascii.len() > 253 {
        return Err(SyntaxIssue::DomainTooLong);
    }
    if ascii.split('.').any(str::is_empty) {
        return Err(SyntaxIssue::BadLabel);
    }
    let Some((_, tld)) = ascii.rsplit_once('.') else {
        return Err(SyntaxIssue::SingleLabel);
    };
    for label in ascii.split('.') {
        if label.len() > 63 {
            return Err(SyntaxIssue::LabelTooLong);
        }
        let ldh = label.bytes().all(|b| b.is_ascii() && class(b) & LDH != 0);
        if !ldh || label.starts_with('-') || label.ends_with('-') {
            return Err(SyntaxIssue::BadLabel);
        }
        // `ab--…` is reserved for IDNA; only a valid `xn--` A-label may use it (validated above).
        if label.get(2..4) == Some("--") && !is_ace(label) {
            return Err(SyntaxIssue::BadLabel);
        }
    }
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyntaxIssue::NumericTld);
    }
    let alphabetic = tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    if !alphabetic && !is_ace(tld) {
        return Err(SyntaxIssue::BadTld);
    }
    if SPECIAL_USE_TLDS
        .iter()
        .any(|special| special.eq_ignore_ascii_case(tld))
    {
        return Err(SyntaxIssue::SpecialUseDomain);
    }
    Ok(ascii)
}

/// Returns true if and only if the label starts with the IDNA prefix `xn--` (any case).
fn is_ace(label: &str) -> bool {
    label
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
}

/// Returns true if and only if some label of the domain starts with `xn--` (any case).
fn has_ace_label(domain: &str) -> bool {
    domain.split('.').any(is_ace)
}

/// Code points that are invisible or never belong in an address: non-ASCII spaces, format
/// characters (zero-width, bidi), line/paragraph separators, private use, non-characters.
fn is_unsafe(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0xA0 | 0xAD | 0x34F | 0x61C | 0x115F | 0x1160 | 0x1680 | 0x180E
        | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x206F | 0x3000 | 0x3164
        | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB
        | 0xE000..=0xF8FF | 0xFDD0..=0xFDEF | 0xE0000..=0xE0FFF | 0xF0000..=0x10FFFF)
        || (u & 0xFFFE) == 0xFFFE
}

#[cfg(test)]
mod tests {
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
            ("a@b.com\n", SyntaxIssue::ControlChar),
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
            ("ñoño@example.com", SyntaxIssue::NonAsciiLocal),
            ("a..b@example.com", SyntaxIssue::BadLocal),
            ("user@exa\u{200b}mple.com", SyntaxIssue::UnsafeChar),
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
}
