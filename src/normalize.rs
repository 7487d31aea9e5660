//! Address normalisation: trimmed, lower-cased, local part in NFC, domain as ASCII (IDNA
//! A-labels).
//!
//! Consumes a raw cell value, produces a [`Normalized`] address and its 128-bit key. Never
//! judges syntax (that is [`crate::syntax`]), never changes the cell as written (outputs copy
//! the cell; only keys, lists and hashes use this form) and never touches the network.

use arrayvec::ArrayString;
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_128;

/// Returns true if and only if `c` is trimmed from both ends of an address: Unicode
/// `White_Space` (tabs, CR, LF, U+00A0, U+3000, …) and the invisible format characters
/// U+200B–U+200D, U+2060 and U+FEFF that copy-paste leaves around values. See: #10 part 1.
pub fn is_padding(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// `text` lower-cased and in NFC: how non-ASCII local parts and U-labels compare. NFC both
/// before and after lower-casing: a lower-case mapping can leave a sequence that composes
/// differently.
pub(crate) fn fold(text: &str) -> String {
    let lower: String = text.nfc().flat_map(char::to_lowercase).collect();
    lower.nfc().collect()
}

/// Returns true if and only if `raw` has padding ([`is_padding`]) at either end and something
/// else between: a value that [`trim`] changes. Looks at the two ends only.
pub fn is_padded(raw: &str) -> bool {
    let ends = (raw.chars().next(), raw.chars().next_back());
    matches!(ends, (Some(first), Some(last)) if is_padding(first) || is_padding(last))
        && !trim(raw).is_empty()
}

/// The address with its padding ([`is_padding`]) removed at both ends. Borrows; allocates
/// nothing.
pub fn trim(raw: &str) -> &str {
    raw.trim_matches(is_padding)
}

/// A normalised address: `local@domain`, lower-cased, domain in ASCII.
#[derive(Debug, Clone)]
pub struct Normalized {
    address: Text,
    at: usize,
}

/// The address text: inline up to 64 bytes (all but freak addresses), so that checking a row
/// allocates nothing.
#[derive(Debug, Clone)]
enum Text {
    Inline(ArrayString<64>),
    Heap(Box<str>),
}

impl Text {
    fn new(text: &str) -> Text {
        ArrayString::from(text).map_or_else(|_| Text::Heap(text.into()), Text::Inline)
    }
}

impl PartialEq for Normalized {
    fn eq(&self, other: &Normalized) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Normalized {}

impl Normalized {
    /// The whole normalised address.
    pub fn as_str(&self) -> &str {
        match &self.address {
            Text::Inline(text) => text,
            Text::Heap(text) => text,
        }
    }

    /// The part before the last `@`.
    pub fn local(&self) -> &str {
        &self.as_str()[..self.at]
    }

    /// The domain, lower-cased ASCII (A-labels for internationalised names).
    pub fn domain(&self) -> &str {
        &self.as_str()[self.at + 1..]
    }

    /// An address already normalised but for case: `address` is ASCII, and its last `@` is
    /// at `at`. Lower-cases it.
    pub(crate) fn from_ascii(address: &str, at: usize) -> Normalized {
        debug_assert!(address.is_ascii());
        debug_assert_eq!(address.rfind('@'), Some(at));
        let mut text = Text::new(address);
        match &mut text {
            Text::Inline(text) => text.make_ascii_lowercase(),
            Text::Heap(text) => text.make_ascii_lowercase(),
        }
        Normalized { address: text, at }
    }

    /// The 128-bit key used for duplicate detection and engagement look-ups.
    pub fn key(&self) -> u128 {
        key(self.as_str())
    }
}

/// The 128-bit key (XXH3-128) of an already normalised address.
pub fn key(normalized: &str) -> u128 {
    xxh3_128(normalized.as_bytes())
}

/// Normalises `raw`: trims padding ([`trim`]), lower-cases, puts a non-ASCII local part in
/// NFC (RFC 6531 mailboxes compare in NFC), and converts the domain to ASCII.
///
/// Returns `None` when there is no `@` or the domain cannot be converted to ASCII.
pub fn normalize(raw: &str) -> Option<Normalized> {
    let trimmed = trim(raw);
    let at = trimmed.rfind('@')?;
    let (local, domain) = (&trimmed[..at], &trimmed[at + 1..]);
    let mut address = String::with_capacity(trimmed.len());
    if local.is_ascii() {
        address.push_str(local);
        address.make_ascii_lowercase();
    } else {
        address.push_str(&fold(local));
    }
    let at = address.len();
    address.push('@');
    if domain.is_ascii() {
        let start = address.len();
        address.push_str(domain);
        address[start..].make_ascii_lowercase();
    } else {
        address.push_str(&idna::domain_to_ascii(domain).ok()?);
    }
    Some(Normalized {
        address: Text::new(&address),
        at,
    })
}

/// The key of a raw address as it would be normalised, or `None` if it cannot be.
pub fn key_of(raw: &str) -> Option<u128> {
    normalize(raw).map(|n| n.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_lowercases_and_encodes_the_domain() {
        let n = normalize("  John.Doe@GMail.COM ").unwrap();
        assert_eq!(n.as_str(), "john.doe@gmail.com");
        assert_eq!(n.local(), "john.doe");
        assert_eq!(n.domain(), "gmail.com");
        let n = normalize("jeff@臺網中心.tw").unwrap();
        assert_eq!(n.domain(), "xn--fiqq24b10vi0d.tw");
        assert!(normalize("no-at-sign").is_none());
    }

    #[test]
    fn equal_only_when_the_normalised_text_is() {
        let a = normalize("Jane@Example.com").unwrap();
        assert_eq!(a, normalize(" jane@EXAMPLE.COM").unwrap());
        assert_ne!(a, normalize("jane@example.org").unwrap());
        assert_ne!(a, normalize("jan@example.com").unwrap());
    }

    #[test]
    fn long_addresses_are_kept_whole() {
        let local = "a".repeat(60);
        let raw = format!("{local}@Example.COM");
        let n = normalize(&raw).unwrap();
        assert_eq!(n.as_str(), format!("{local}@example.com"));
        assert_eq!(n.domain(), "example.com");
        assert_eq!(n, Normalized::from_ascii(&raw, local.len()));
        assert_eq!(n.key(), key(&format!("{local}@example.com")));
    }

    #[test]
    fn is_idempotent() {
        for raw in ["A@B.CO", " x.y+z@Bücher.DE ", "Ünï@ex.com"] {
            let once = normalize(raw).unwrap();
            let twice = normalize(once.as_str()).unwrap();
            assert_eq!(once, twice);
        }
    }
}
