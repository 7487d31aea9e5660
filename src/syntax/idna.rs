//! Strict IDNA 2008 for domains (RFC 5890–5893): the domain as written must already be a
//! valid IDNA 2008 name. See: #10 part 3.
//!
//! Consumes a domain with a non-ASCII or `xn--` label; produces its A-label form, or the
//! [`SyntaxIssue`]. UTS-46 processing (the `idna` crate, STD3 rules, CheckHyphens, CheckBidi,
//! CheckJoiners) gives the mapping and the bidi, joiner and hyphen rules; on top of it every
//! label must be in NFC (after lower-casing: DNS is case-blind) and made only of code points
//! that RFC 5892 derives PVALID, or CONTEXTO under its rule (the table is public data, see
//! src/data/IDNA2008-SOURCE.md). Characters UTS-46 would map (full-width letters, the
//! ideographic full stop) make a [`SyntaxIssue::CompatibilityForm`]; the mapped form is only a
//! suggestion ([`suggest_domain`]), never the address. Never touches the network.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::SyntaxIssue;
use crate::normalize::fold as case_folded;

#[path = "../data/idna2008.rs"]
mod table;

/// The A-label form of `domain` (lower-cased), which has a non-ASCII or `xn--` label.
///
/// # Errors
/// [`SyntaxIssue::CompatibilityForm`] when UTS-46 would map the domain to a valid IDNA 2008
/// name that differs from it; [`SyntaxIssue::DisallowedDomainChar`] for a code point IDNA 2008
/// disallows; [`SyntaxIssue::BadLabel`] for anything else UTS-46 rejects.
pub(super) fn to_ascii(domain: &str) -> Result<String, SyntaxIssue> {
    let uts46 = Uts46::new();
    let ascii = uts46
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Ignore,
        )
        .map_err(|_| SyntaxIssue::BadLabel)?;
    // The UTS-46 mapping, label by label: a label as written must be its own mapping (but
    // for case and NFC), else it is a compatibility form (or worse).
    let (mapped, mapping) =
        uts46.to_unicode(domain.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    let mapped_labels: Vec<&str> = mapped.split('.').collect();
    let same_shape = mapping.is_ok() && mapped_labels.len() == domain.split('.').count();
    let mut disallowed = false;
    for (i, label) in domain.split('.').enumerate() {
        if label.is_ascii() && !super::is_ace(label) {
            continue; // LDH, checked by the caller
        }
        let folded = if label.is_ascii() {
            // UTS-46 decoded and validated it: a valid A-label. Its U-label must be IDNA 2008.
            let lower = label.to_ascii_lowercase();
            match lower.get(4..).and_then(idna::punycode::decode_to_string) {
                Some(decoded) if decoded == case_folded(&decoded) => decoded,
                _ => return Err(SyntaxIssue::BadLabel),
            }
        } else {
            case_folded(label)
        };
        let as_mapped = same_shape && mapped_labels.get(i) == Some(&folded.as_str());
        if !as_mapped || !is_u_label(&folded) {
            disallowed = true;
        }
    }
    if !disallowed {
        return Ok(ascii.to_ascii_lowercase());
    }
    // Is it a compatibility form of a valid name (`ｇｍａｉｌ.com`, `gmail。com`)?
    let valid_mapping = mapping.is_ok()
        && mapped.split('.').all(|label| {
            if label.is_ascii() {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            } else {
                is_u_label(label)
            }
        });
    if valid_mapping {
        Err(SyntaxIssue::CompatibilityForm)
    } else {
        Err(SyntaxIssue::DisallowedDomainChar)
    }
}

/// The UTS-46 mapping of `domain` (lower-cased, compatibility forms folded), as a suggestion.
pub(super) fn suggest_domain(domain: &str) -> Option<String> {
    let (mapped, result) =
        Uts46::new().to_unicode(domain.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    result.ok().map(|()| mapped.into_owned())
}

/// Returns true if and only if `label` is a valid IDNA 2008 U-label as far as code points go:
/// every one PVALID, or CONTEXTO with its RFC 5892 appendix A rule met. (CONTEXTJ joiners,
/// bidi, hyphens and leading combining marks are checked by UTS-46 before.)
fn is_u_label(label: &str) -> bool {
    let chars: Vec<char> = label.chars().collect();
    !chars.is_empty()
        && chars.iter().enumerate().all(|(i, &c)| {
            let u = c as u32;
            in_ranges(table::PVALID, u)
                || in_ranges(table::CONTEXTJ, u) // rules checked by UTS-46 CheckJoiners
                || (in_ranges(table::CONTEXTO, u) && contexto_ok(&chars, i))
        })
}

/// The CONTEXTO rules of RFC 5892 appendix A.3–A.9 for the code point at `i`.
fn contexto_ok(label: &[char], i: usize) -> bool {
    let before = i.checked_sub(1).and_then(|j| label.get(j)).copied();
    let after = label.get(i + 1).copied();
    let script =
        |c: Option<char>, ranges: &[(u32, u32)]| c.is_some_and(|c| in_ranges(ranges, c as u32));
    match label[i] as u32 {
        // MIDDLE DOT: between two `l` (Catalan `l·l`).
        0xB7 => before == Some('l') && after == Some('l'),
        // GREEK LOWER NUMERAL SIGN: followed by Greek.
        0x375 => script(after, table::GREEK),
        // HEBREW GERESH, GERSHAYIM: preceded by Hebrew.
        0x5F3 | 0x5F4 => script(before, table::HEBREW),
        // KATAKANA MIDDLE DOT: some Hiragana, Katakana or Han in the label.
        0x30FB => label.iter().any(|&c| {
            c != '\u{30FB}'
                && [table::HIRAGANA, table::KATAKANA, table::HAN]
                    .iter()
                    .any(|ranges| in_ranges(ranges, c as u32))
        }),
        // ARABIC-INDIC DIGITS: no extended Arabic-Indic digit in the label, and vice versa.
        0x660..=0x669 => !label.iter().any(|&c| ('\u{6F0}'..='\u{6F9}').contains(&c)),
        0x6F0..=0x6F9 => !label.iter().any(|&c| ('\u{660}'..='\u{669}').contains(&c)),
        _ => false,
    }
}

/// Returns true if and only if `u` is in one of the sorted half-open `ranges`.
fn in_ranges(ranges: &[(u32, u32)], u: u32) -> bool {
    let index = ranges.partition_point(|&(start, _)| start <= u);
    index > 0 && u < ranges[index - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_half_open() {
        assert!(in_ranges(table::PVALID, 'a' as u32));
        assert!(in_ranges(table::PVALID, 'z' as u32));
        assert!(!in_ranges(table::PVALID, '{' as u32));
        assert!(!in_ranges(table::PVALID, 'A' as u32));
        assert!(!in_ranges(table::PVALID, 0));
        assert!(!in_ranges(table::PVALID, '¡' as u32));
        assert!(in_ranges(table::PVALID, 'ü' as u32));
    }

    #[test]
    fn contexto_rules() {
        assert!(is_u_label("l·l"));
        assert!(!is_u_label("a·b"));
        assert!(is_u_label("\u{5D0}\u{5F3}"));
        assert!(!is_u_label("a\u{5F3}"));
        assert!(is_u_label("\u{30A2}\u{30FB}"));
        assert!(!is_u_label("a\u{30FB}"));
        assert!(!is_u_label("\u{660}\u{6F0}"));
        assert!(is_u_label("\u{660}\u{661}"));
    }
}
