//! Address normalisation: trimmed, lower-cased, domain as ASCII (IDNA A-labels).
//!
//! Consumes a raw cell value, produces a [`Normalized`] address and its 128-bit key. Never
//! judges syntax (that is [`crate::syntax`]) and never touches the network.

use xxhash_rust::xxh3::xxh3_128;

/// A normalised address: `local@domain`, lower-cased, domain in ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Normalized {
    address: String,
    at: usize,
}

impl Normalized {
    /// The whole normalised address.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the last `@`.
    pub fn local(&self) -> &str {
        &self.address[..self.at]
    }

    /// The domain, lower-cased ASCII (A-labels for internationalised names).
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// An address already normalised: `address` is lower-case, ASCII in its domain, and its
    /// last `@` is at `at`.
    pub(crate) fn from_parts(address: String, at: usize) -> Normalized {
        debug_assert_eq!(address.rfind('@'), Some(at));
        Normalized { address, at }
    }

    /// The 128-bit key used for duplicate detection and engagement look-ups.
    pub fn key(&self) -> u128 {
        key(&self.address)
    }
}

/// The 128-bit key (XXH3-128) of an already normalised address.
pub fn key(normalized: &str) -> u128 {
    xxh3_128(normalized.as_bytes())
}

/// Normalises `raw`: trims white space, lower-cases, and converts the domain to ASCII.
///
/// Returns `None` when there is no `@` or the domain cannot be converted to ASCII.
pub fn normalize(raw: &str) -> Option<Normalized> {
    let trimmed = raw.trim();
    let at = trimmed.rfind('@')?;
    let (local, domain) = (&trimmed[..at], &trimmed[at + 1..]);
    let mut address = String::with_capacity(trimmed.len());
    if local.is_ascii() {
        address.push_str(local);
        address.make_ascii_lowercase();
    } else {
        address.push_str(&local.to_lowercase());
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
    Some(Normalized { address, at })
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
    fn is_idempotent() {
        for raw in ["A@B.CO", " x.y+z@Bücher.DE ", "Ünï@ex.com"] {
            let once = normalize(raw).unwrap();
            let twice = normalize(once.as_str()).unwrap();
            assert_eq!(once, twice);
        }
    }
}
