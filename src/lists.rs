//! Risk lists: role mailboxes, disposable domains and typo domains of major providers.
//!
//! Consumes normalised local parts and domains; never touches the network. The disposable list
//! ships with the binary (`src/data/disposable_domains.txt`, source and date in
//! `src/data/DISPOSABLE-SOURCE.md`); the rules file can add to it and allow domains out of it.

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

const BUILTIN_DISPOSABLE: &str = include_str!("data/disposable_domains.txt");
/// The shipped role mailboxes (source and licence in the file's header). See: #10 part 4.
const BUILTIN_ROLES: &str = include_str!("data/role_accounts.txt");

/// The `[lists]` section of the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListsConfig {
    /// Local parts (before any `+tag`) that name a role, not a person.
    pub role_accounts: Vec<String>,
    /// Use the shipped list of disposable domains.
    pub builtin_disposable: bool,
    /// More disposable domains (a domain also matches its subdomains).
    pub disposable_deny: Vec<String>,
    /// Domains never treated as disposable, even if a list names them.
    pub disposable_allow: Vec<String>,
    /// Major mailbox providers whose misspellings are flagged `typo_domain`.
    pub typo_targets: Vec<String>,
}

impl Default for ListsConfig {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        ListsConfig {
            role_accounts: BUILTIN_ROLES
                .lines()
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(String::from)
                .collect(),
            builtin_disposable: true,
            disposable_deny: Vec::new(),
            disposable_allow: Vec::new(),
            typo_targets: strings(&[
                "gmail.com",
                "googlemail.com",
                "yahoo.com",
                "yahoo.co.uk",
                "ymail.com",
                "hotmail.com",
                "hotmail.co.uk",
                "outlook.com",
                "live.com",
                "msn.com",
                "aol.com",
                "icloud.com",
                "me.com",
                "mac.com",
                "comcast.net",
                "verizon.net",
                "att.net",
                "sbcglobal.net",
                "protonmail.com",
                "proton.me",
                "gmx.com",
                "gmx.de",
                "web.de",
                "mail.com",
                "yandex.ru",
                "orange.fr",
                "btinternet.com",
            ]),
        }
    }
}

impl ListsConfig {
    /// Checks the lists' entries.
    ///
    /// # Errors
    /// A message naming the first entry that is not a lower-case domain or local part.
    pub fn validate(&self) -> Result<(), String> {
        for (key, items) in [
            ("lists.disposable_deny", &self.disposable_deny),
            ("lists.disposable_allow", &self.disposable_allow),
            ("lists.typo_targets", &self.typo_targets),
        ] {
            if let Some(bad) = items
                .iter()
                .find(|d| !d.contains('.') || d.contains('@') || d.trim() != d.as_str())
            {
                return Err(format!(
                    "{key}: `{bad}` is not a domain (write e.g. `example.com`)"
                ));
            }
        }
        if let Some(bad) = self
            .role_accounts
            .iter()
            .find(|r| r.is_empty() || r.contains('@'))
        {
            return Err(format!(
                "lists.role_accounts: `{bad}` is not a local part (write e.g. `info`)"
            ));
        }
        Ok(())
    }
}

/// The compiled lists.
#[derive(Debug)]
pub struct Lists {
    roles: FxHashSet<String>,
    role_shapes: RoleShapes,
    disposable: FxHashSet<String>,
    allow: FxHashSet<String>,
    typo_targets: Vec<TypoTarget>,
}

/// Which lengths, first bytes and last bytes the role names have: a cheap test that most
/// local parts fail. Per length, two sets of bytes (each byte as `b & 63`, so a set is a word).
#[derive(Debug, Default)]
struct RoleShapes(Vec<(u64, u64)>);

impl RoleShapes {
    fn of<'a>(names: impl Iterator<Item = &'a String>) -> RoleShapes {
        let mut shapes = RoleShapes::default();
        for name in names {
            let (Some(&first), Some(&last)) = (name.as_bytes().first(), name.as_bytes().last())
            else {
                continue;
            };
            if shapes.0.len() <= name.len() {
                shapes.0.resize(name.len() + 1, (0, 0));
            }
            shapes.0[name.len()].0 |= 1 << (first & 63);
            shapes.0[name.len()].1 |= 1 << (last & 63);
        }
        shapes
    }

    /// Returns false when no role name has `name`'s length, first byte and last byte.
    fn may_hold(&self, name: &str) -> bool {
        let bytes = name.as_bytes();
        match (bytes.first(), bytes.last(), self.0.get(bytes.len())) {
            (Some(&first), Some(&last), Some(&(firsts, lasts))) => {
                firsts & (1 << (first & 63)) != 0 && lasts & (1 << (last & 63)) != 0
            }
            _ => false,
        }
    }
}

/// A provider domain that typos are matched against, split once.
#[derive(Debug)]
struct TypoTarget {
    domain: String,
    /// The part before the last dot (the whole domain if none).
    name_len: usize,
}

impl TypoTarget {
    fn new(domain: String) -> TypoTarget {
        let name_len = domain.rfind('.').unwrap_or(domain.len());
        TypoTarget { domain, name_len }
    }

    fn name(&self) -> &str {
        &self.domain[..self.name_len]
    }

    fn tld(&self) -> &str {
        self.domain.get(self.name_len + 1..).unwrap_or("")
    }
}

impl Lists {
    /// Builds the look-up sets.
    pub fn compile(config: &ListsConfig) -> Lists {
        let lower = |items: &[String]| {
            items
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<FxHashSet<_>>()
        };
        let mut disposable = lower(&config.disposable_deny);
        if config.builtin_disposable {
            disposable.extend(
                BUILTIN_DISPOSABLE
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from),
            );
        }
        let roles = lower(&config.role_accounts);
        Lists {
            role_shapes: RoleShapes::of(roles.iter()),
            roles,
            disposable,
            allow: lower(&config.disposable_allow),
            typo_targets: config
                .typo_targets
                .iter()
                .map(|s| TypoTarget::new(s.to_ascii_lowercase()))
                .collect(),
        }
    }

    /// Returns true if and only if the local part (without a `+tag`) names a role mailbox.
    ///
    /// Runs for every address: a local part whose length, first and last bytes no role name
    /// has is answered without hashing it.
    pub fn is_role(&self, local: &str) -> bool {
        let plus = local.bytes().position(|b| b == b'+');
        let base = plus.map_or(local, |plus| &local[..plus]);
        self.role_shapes.may_hold(base) && self.roles.contains(base)
    }

    /// The disposable-list entry that matches `domain` (itself or a parent), unless allowed.
    pub fn disposable_match(&self, domain: &str) -> Option<&str> {
        let mut candidate = domain;
        loop {
            if self.allow.contains(candidate) {
                return None;
            }
            if let Some(hit) = self.disposable.get(candidate) {
                return Some(hit);
            }
            // Parents down to the registrable part; a bare TLD is never listed.
            match candidate.split_once('.') {
                Some((_, parent)) if parent.contains('.') => candidate = parent,
                _ => return None,
            }
        }
    }

    /// The major provider `domain` looks like a misspelling of, if any.
    ///
    /// A typo is one edit (insertion, deletion, substitution or swap of neighbours) away from a
    /// provider's domain of at least 8 characters, or the provider's name with a mistyped TLD
    /// (`gmail.con`, `aol.cm`). Domains that are themselves providers never match.
    ///
    /// Runs once for every new domain of a run against every target, on the thread that
    /// registers rows in order: lengths are compared before any bytes.
    pub fn typo_suggestion(&self, domain: &str) -> Option<&str> {
        let (name, tld) = domain.rsplit_once('.')?;
        let mut first = None;
        for target in &self.typo_targets {
            let full = target.domain.as_bytes();
            if full == domain.as_bytes() {
                return None;
            }
            if first.is_some() {
                continue; // still looking for the domain itself among the targets
            }
            let mistyped_tld = target.name_len == name.len()
                && name == target.name()
                && one_edit_apart(tld.as_bytes(), target.tld().as_bytes());
            let one_edit = full.len() >= 8
                && domain.len() >= 6
                && full.len().abs_diff(domain.len()) <= 1
                && one_edit_apart(domain.as_bytes(), full);
            if mistyped_tld || one_edit {
                first = Some(target.domain.as_str());
            }
        }
        first
    }
}

/// Returns true if and only if `a` becomes `b` by exactly one edit: inserting, deleting or
/// substituting one byte, or swapping two neighbours (optimal string alignment distance 1).
/// Allocation-free: it runs once for every new domain against every typo target.
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => {
            a[1..] == b[1..] || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        std::cmp::Ordering::Greater => a[1..] == *b,
        std::cmp::Ordering::Less => *a == b[1..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Lists {
        Lists::compile(&ListsConfig::default())
    }

    #[test]
    fn list_entries_are_validated() {
        let valid = ListsConfig {
            disposable_deny: vec!["throwaway.example".into()],
            role_accounts: vec!["info".into()],
            ..ListsConfig::default()
        };
        assert_eq!(valid.validate(), Ok(()));
        for (config, key) in [
            (
                ListsConfig {
                    disposable_deny: vec!["nodot".into()],
                    ..ListsConfig::default()
                },
                "lists.disposable_deny: `nodot`",
            ),
            (
                ListsConfig {
                    disposable_allow: vec!["a@b.com".into()],
                    ..ListsConfig::default()
                },
                "lists.disposable_allow: `a@b.com`",
            ),
            (
                ListsConfig {
                    typo_targets: vec![" gmail.com".into()],
                    ..ListsConfig::default()
                },
                "lists.typo_targets: ` gmail.com`",
            ),
            (
                ListsConfig {
                    role_accounts: vec![String::new()],
                    ..ListsConfig::default()
                },
                "lists.role_accounts: ``",
            ),
            (
                ListsConfig {
                    role_accounts: vec!["info@x.com".into()],
                    ..ListsConfig::default()
                },
                "lists.role_accounts: `info@x.com`",
            ),
        ] {
            let error = config.validate().expect_err(key);
            assert!(error.starts_with(key), "{error}");
        }
    }

    #[test]
    fn roles_ignore_plus_tags() {
        let l = lists();
        assert!(l.is_role("info"));
        assert!(l.is_role("sales+eu"));
        assert!(!l.is_role("jane"));
    }

    // The shape filter must never hide a role name: every shipped and configured one is
    // found, bare and tagged; names that share a role's shape but are not roles are not.
    #[test]
    fn every_role_name_is_found_through_the_shape_filter() {
        let config = ListsConfig {
            role_accounts: vec!["x".into(), "a-very-long-role-name".into(), "ops.".into()],
            ..ListsConfig::default()
        };
        let l = Lists::compile(&config);
        let defaults = ListsConfig::default();
        let compiled = lists();
        for role in &defaults.role_accounts {
            assert!(compiled.is_role(role), "{role}");
            assert!(compiled.is_role(&format!("{role}+tag")), "{role}+tag");
            // Same length, first and last byte, different middle.
            if role.len() >= 3 {
                let twisted = format!("{}~{}", &role[..1], &role[2..]);
                assert!(!compiled.is_role(&twisted), "{twisted}");
            }
        }
        for role in &config.role_accounts {
            assert!(l.is_role(role), "{role}");
        }
        assert!(
            !l.is_role("info"),
            "the configured list replaces the shipped one"
        );
        assert!(!l.is_role(""));
        assert!(!l.is_role("+x"));
    }

    #[test]
    fn disposable_matches_subdomains_and_honours_allow() {
        let l = lists();
        assert_eq!(l.disposable_match("mailinator.com"), Some("mailinator.com"));
        assert_eq!(
            l.disposable_match("eu.mailinator.com"),
            Some("mailinator.com")
        );
        assert_eq!(l.disposable_match("gmail.com"), None);
        let config = ListsConfig {
            disposable_allow: vec!["mailinator.com".into()],
            ..ListsConfig::default()
        };
        assert_eq!(
            Lists::compile(&config).disposable_match("mailinator.com"),
            None
        );
    }

    #[test]
    fn one_edit_apart_matches_osa_distance_one() {
        for (a, b, want) in [
            ("gmail.com", "gmial.com", true),
            ("gmail.com", "gmal.com", true),
            ("gmail.com", "gmaill.com", true),
            ("gmail.com", "gnail.com", true),
            ("gmail.com", "gmail.com", false),
            ("gmail.com", "gmali.con", false),
            ("gmail.com", "mgail.com", true),
            ("com", "cmo", true),
            ("com", "co", true),
            ("com", "net", false),
            ("a", "", true),
            ("", "", false),
        ] {
            assert_eq!(one_edit_apart(a.as_bytes(), b.as_bytes()), want, "{a} {b}");
            assert_eq!(one_edit_apart(b.as_bytes(), a.as_bytes()), want, "{b} {a}");
        }
    }

    #[test]
    fn typos_of_major_providers() {
        let l = lists();
        for (typed, want) in [
            ("gmial.com", Some("gmail.com")),
            ("gmail.con", Some("gmail.com")),
            ("gmal.com", Some("gmail.com")),
            ("hotmial.com", Some("hotmail.com")),
            ("yahooo.com", Some("yahoo.com")),
            ("aol.cm", Some("aol.com")),
            ("gmail.com", None),
            ("mail.com", None),
            ("example.com", None),
            ("acme.co", None),
        ] {
            assert_eq!(l.typo_suggestion(typed), want, "{typed}");
        }
    }
}
