//! Syntax: is a cell value an address a bulk mailer should send to?
//!
//! Consumes a raw cell value, produces the [`Normalized`] address or the first
//! [`SyntaxIssue`] found. Padding at both ends (Unicode white space, zero-width and BOM
//! characters: [`crate::normalize::trim`]) is removed before judging. The profile is stricter
//! than RFC 5322 (see the README's table): no quoted local parts, comments, IP literals,
//! display names, single-label or special-use domains, control or invisible characters;
//! domains must be valid IDNA 2008 as written (module `idna`). A non-ASCII (RFC 6531) local
//! part is valid here; [`needs_smtputf8`] tells the decision. `email_address` gives the RFC
//! baseline; the checks here add the bulk-mail profile. Never touches the network, never
//! rewrites the address (a compatibility form gets a [`suggestion`], not a correction).

mod idna;

use std::borrow::Cow;
use std::fmt;

use email_address::{EmailAddress, Options};
use unicode_normalization::UnicodeNormalization;

use crate::normalize::{self, Normalized, normalize};

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
    /// A non-ASCII local part that is not valid RFC 6531 UTF-8 (valid ones are accepted and
    /// flagged by [`needs_smtputf8`]).
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
    /// Full-width or other compatibility characters that UTS-46 would map to a valid address
    /// (`someone@ｇｍａｉｌ.com`); [`suggestion`] gives the mapped form.
    CompatibilityForm,
    /// A character IDNA 2008 does not allow in a domain name (`¡ € £ ©`, symbols, emoji).
    DisallowedDomainChar,
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
            SyntaxIssue::NonAsciiLocal => "invalid non-ASCII local part",
            SyntaxIssue::LocalTooLong => "local part over 64 characters",
            SyntaxIssue::BadLabel => "invalid domain label",
            SyntaxIssue::SingleLabel => "domain has no top-level domain",
            SyntaxIssue::LabelTooLong => "domain label over 63 characters",
            SyntaxIssue::NumericTld => "numeric top-level domain",
            SyntaxIssue::BadTld => "invalid top-level domain",
            SyntaxIssue::SpecialUseDomain => "special-use domain that never receives mail",
            SyntaxIssue::DomainTooLong => "domain over 253 characters",
            SyntaxIssue::AddressTooLong => "address over 254 characters",
            SyntaxIssue::CompatibilityForm => "full-width or compatibility characters",
            SyntaxIssue::DisallowedDomainChar => {
                "character not allowed in a domain name (IDNA 2008)"
            }
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

/// Returns true if and only if `tld` is a [`SPECIAL_USE_TLDS`] name, in any case. Runs for
/// every address: top-level names shorter or longer than every special-use name (most are two
/// or three letters) are answered at once.
fn is_special_use(tld: &[u8]) -> bool {
    /// The shortest and longest [`SPECIAL_USE_TLDS`] names.
    const LENGTHS: (usize, usize) = {
        let (mut shortest, mut longest, mut i) = (usize::MAX, 0, 0);
        while i < SPECIAL_USE_TLDS.len() {
            let len = SPECIAL_USE_TLDS[i].len();
            if len < shortest {
                shortest = len;
            }
            if len > longest {
                longest = len;
            }
            i += 1;
        }
        (shortest, longest)
    };
    (LENGTHS.0..=LENGTHS.1).contains(&tld.len())
        && SPECIAL_USE_TLDS
            .iter()
            .any(|special| special.as_bytes().eq_ignore_ascii_case(tld))
}

/// Checks `raw` against the bulk-mail profile and normalises it.
///
/// Padding at both ends ([`crate::normalize::trim`]) is removed first (an export or
/// copy-paste artefact, not part of the address); every other check applies to the value as
/// written. See: #10 part 1.
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

/// ASCII padding: the ASCII Unicode `White_Space` characters (TAB, LF, VT, FF, CR, space).
fn is_ascii_padding(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// `raw` (ASCII) without its padding at both ends.
fn trim_ascii(raw: &str) -> &str {
    let bytes = raw.as_bytes();
    let start = bytes.iter().position(|&b| !is_ascii_padding(b));
    let end = bytes.iter().rposition(|&b| !is_ascii_padding(b));
    match (start, end) {
        (Some(start), Some(end)) => raw.get(start..=end).unwrap_or_default(),
        _ => "",
    }
}

/// Returns true if and only if the (valid) address needs SMTPUTF8 to be delivered: its local
/// part is not ASCII (RFC 6531). See: #10 part 2.
pub fn needs_smtputf8(address: &Normalized) -> bool {
    !address.local().is_ascii()
}

/// The address that `raw` would be with its compatibility characters mapped (full-width
/// letters, the ideographic full stop, …): the `did you mean …?` of a
/// [`SyntaxIssue::CompatibilityForm`]. `None` when there is nothing to suggest. Local part as
/// written but for NFKC; domain as UTS-46 maps it.
pub fn suggestion(raw: &str) -> Option<String> {
    let value = normalize::trim(raw);
    let at = value
        .rfind('@')
        .or_else(|| value.rfind(['\u{FF20}', '\u{FE6B}']))?;
    let (local, domain) = value.split_at(at);
    let mut domain = domain.chars();
    domain.next(); // the at sign
    let local: String = local.nfkc().collect();
    let domain = idna::suggest_domain(domain.as_str())?;
    let suggested = format!("{local}@{domain}");
    (suggested != value && check(&suggested).is_ok()).then_some(suggested)
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
    let start = bytes.iter().position(|&b| !is_ascii_padding(b))?;
    let end = bytes.iter().rposition(|&b| !is_ascii_padding(b))? + 1;
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
    if is_special_use(tld) {
        return None;
    }
    Some(Normalized::from_ascii(text, at))
}

/// The full checks for ASCII values, byte-wise: one pass finds every character class the
/// checks need.
fn check_ascii_fully(raw: &str) -> Result<Normalized, SyntaxIssue> {
    let value = trim_ascii(raw);
    if value.is_empty() {
        return Err(SyntaxIssue::Empty);
    }
    if value.bytes().any(|b| class(b) & CONTROL != 0) {
        return Err(SyntaxIssue::ControlChar);
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
    let value = normalize::trim(raw);
    if value.is_empty() {
        return Err(SyntaxIssue::Empty);
    }
    if value.chars().any(char::is_control) {
        return Err(SyntaxIssue::ControlChar);
    }
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
    // The RFC baseline: anything our profile lets through must also parse as RFC 5322 (a
    // UTF-8 local part, checked above as an RFC 6531 dot-atom, stands in as `x`).
    let rfc_local = if local.is_ascii() { local } else { "x" };
    if !rfc_ok(rfc_local, &ascii_domain) {
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
    if local_octets(local) + 1 + ascii_domain.len() > 254 {
        return Err(SyntaxIssue::AddressTooLong);
    }
    Ok((local, ascii_domain))
}

fn split_at_sign(value: &str) -> Result<(&str, &str), SyntaxIssue> {
    let Some(at) = value.rfind('@') else {
        // A full-width or small commercial at (`jane＠example.com`) is a compatibility form.
        if value.contains(['\u{FF20}', '\u{FE6B}']) {
            return Err(SyntaxIssue::CompatibilityForm);
        }
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
        return check_utf8_local(local);
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

/// An RFC 6531 local part with non-ASCII characters: a dot-atom of `atext` and UTF-8
/// non-ASCII characters, at most 64 octets in NFC. A local part that is only a compatibility
/// form of an ASCII one (full-width letters) is [`SyntaxIssue::CompatibilityForm`]. See: #10
/// part 2.
fn check_utf8_local(local: &str) -> Result<(), SyntaxIssue> {
    let compatible: String = local.nfkc().collect();
    if compatible.is_ascii() {
        return Err(SyntaxIssue::CompatibilityForm);
    }
    if local_octets(local) > 64 {
        return Err(SyntaxIssue::LocalTooLong);
    }
    let mut previous_dot = true; // no leading dot
    for c in local.chars() {
        let dot = c == '.';
        let allowed = !c.is_ascii() || class(c as u8) & ATEXT != 0;
        if (dot && previous_dot) || (!dot && !allowed) {
            return Err(SyntaxIssue::NonAsciiLocal);
        }
        previous_dot = dot;
    }
    if previous_dot {
        return Err(SyntaxIssue::NonAsciiLocal); // trailing dot
    }
    Ok(())
}

/// The local part's length in octets, as written or in NFC, whichever is longer (RFC 6531
/// mailboxes are sent in NFC, which can lengthen a value, e.g. U+FB2C; a sender may also pass
/// it on as written).
fn local_octets(local: &str) -> usize {
    if local.is_ascii() {
        local.len()
    } else {
        local.len().max(local.nfc().map(char::len_utf8).sum())
    }
}

fn check_domain(domain: &str) -> Result<Cow<'_, str>, SyntaxIssue> {
    let ascii = if domain.is_ascii() && !has_ace_label(domain) {
        Cow::Borrowed(domain)
    } else {
        // Strict IDNA 2008 for U-labels and existing A-labels alike.
        Cow::Owned(idna::to_ascii(domain)?)
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
    if is_special_use(tld.as_bytes()) {
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
mod tests;
