//! The rules file: reason → action map, risk lists and thresholds, and the decision.
//!
//! Consumes TOML (the shipped defaults, or `--rules FILE`), produces a compiled [`RuleSet`].
//! It is read once, before any data; an unknown key, or a value outside its documented bounds,
//! is an error naming the key and its line. A rules file is at most [`MAX_RULES_BYTES`].

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::RangeInclusive;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engagement::EngagementRules;
use crate::error::{Error, Result};
use crate::lists::{Lists, ListsConfig};
use crate::reason::{Action, Finding, Reason};
use crate::resolve::DnsRules;

/// The shipped default rules, commented; `listwash rules --defaults` prints this.
pub const DEFAULT_RULES: &str = include_str!("default_rules.toml");

/// The largest rules file read: 1 MiB (the shipped defaults are under 8 KiB). A larger file,
/// or an endless one such as `/dev/zero`, is an error before it is held in memory.
pub const MAX_RULES_BYTES: u64 = 1 << 20;

/// Largest day count in `[engagement]` (about 100 years).
const MAX_DAYS: u64 = 36_500;
/// Largest send or delivery count in `[engagement]`.
const MAX_COUNT: u64 = 1_000_000;
/// Largest `scanner_click_seconds` (one day).
const MAX_SCANNER_SECONDS: u64 = 86_400;

/// The rules file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RulesFile {
    /// Reason code → action; reasons left out keep the contract's default action.
    pub actions: BTreeMap<Reason, Action>,
    /// Role mailboxes, disposable allow/deny lists, typo targets.
    pub lists: ListsConfig,
    /// DNS settings (canaries, cache bounds, parking services).
    pub dns: DnsRules,
    /// Engagement thresholds.
    pub engagement: EngagementRules,
}

/// A compiled rules file.
#[derive(Debug)]
pub struct RuleSet {
    actions: [Action; Reason::ALL.len()],
    /// The risk lists.
    pub lists: Lists,
    /// The `[dns]` section.
    pub dns: DnsRules,
    /// The `[engagement]` section.
    pub engagement: EngagementRules,
}

/// What happens to one row, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Keep, review or suppress.
    pub action: Action,
    /// The deciding reason (`None` for a kept row with no finding).
    pub reason: Option<Reason>,
    /// Evidence for `listwash_detail`.
    pub detail: String,
}

impl RuleSet {
    /// The shipped defaults.
    pub fn defaults() -> RuleSet {
        RuleSet::compile(RulesFile::default())
    }

    /// Reads and compiles a rules file.
    ///
    /// # Errors
    /// When the file cannot be read, is not TOML, or has an unknown key or a bad value.
    pub fn load(path: &Path) -> Result<RuleSet> {
        let read_error = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        // See: #16 item 13 (`--rules /dev/zero` grew without bound).
        file.take(MAX_RULES_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_RULES_BYTES {
            return Err(Error::Rules {
                path: path.to_path_buf(),
                message: format!(
                    "larger than the limit of {} MiB; a rules file holds a few dozen keys \
                     (is this the right file? `listwash rules --defaults` prints one)",
                    MAX_RULES_BYTES >> 20
                ),
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| Error::Rules {
            path: path.to_path_buf(),
            message: format!(
                "not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        })?;
        RuleSet::parse(&text, path)
    }

    /// Compiles rules from TOML text; `path` is only used in error messages.
    ///
    /// # Errors
    /// When the text is not TOML, or has an unknown key or a bad value.
    pub fn parse(text: &str, path: &Path) -> Result<RuleSet> {
        let file: RulesFile = toml::from_str(text).map_err(|e| Error::Rules {
            path: path.to_path_buf(),
            message: format!(
                "{}; fix it (`listwash rules --defaults` shows every key with its meaning)",
                one_line(&e.to_string())
            ),
        })?;
        file.lists.validate().map_err(|message| Error::Rules {
            path: path.to_path_buf(),
            message,
        })?;
        file.dns
            .validate()
            .and_then(|()| validate_engagement(&file.engagement))
            .map_err(|bad| Error::Rules {
                path: path.to_path_buf(),
                message: bad.describe(text),
            })?;
        Ok(RuleSet::compile(file))
    }

    fn compile(file: RulesFile) -> RuleSet {
        let mut actions = [Action::Keep; Reason::ALL.len()];
        for (slot, reason) in actions.iter_mut().zip(Reason::ALL) {
            *slot = file
                .actions
                .get(reason)
                .copied()
                .unwrap_or(reason.default_action());
        }
        RuleSet {
            actions,
            lists: Lists::compile(&file.lists),
            dns: file.dns,
            engagement: file.engagement,
        }
    }

    /// The action configured for `reason`.
    pub fn action(&self, reason: Reason) -> Action {
        self.actions[reason as usize]
    }

    /// Decides a row from its findings (in any order).
    ///
    /// The strictest action among the findings wins; among findings with that action, the
    /// contract's precedence (the order of [`Reason::ALL`]) picks the deciding reason. A
    /// reason mapped to `keep` does not decide, but its evidence is still listed.
    pub fn decide(&self, findings: &[Finding]) -> Decision {
        let deciding = findings
            .iter()
            .filter(|f| self.action(f.reason) != Action::Keep)
            .min_by_key(|f| (std::cmp::Reverse(self.action(f.reason)), f.reason));
        let Some(deciding) = deciding else {
            let detail = findings
                .iter()
                .map(|f| format!("{} ({}, kept by rules)", f.reason, f.detail))
                .collect::<Vec<_>>()
                .join("; ");
            return Decision {
                action: Action::Keep,
                reason: None,
                detail,
            };
        };
        let mut detail = deciding.detail.clone();
        let mut others: Vec<Reason> = findings
            .iter()
            .map(|f| f.reason)
            .filter(|r| *r != deciding.reason)
            .collect();
        others.sort();
        others.dedup();
        if !others.is_empty() {
            let names: Vec<&str> = others.iter().map(|r| r.code()).collect();
            detail.push_str(&format!(" (also: {})", names.join(", ")));
        }
        Decision {
            action: self.action(deciding.reason),
            reason: Some(deciding.reason),
            detail,
        }
    }
}

/// A rules value outside its bounds (see [`check_range`]).
#[derive(Debug)]
pub(crate) struct BadValue {
    section: &'static str,
    key: &'static str,
    message: String,
}

impl BadValue {
    /// `section.key`: `message` (what is wrong and what to write instead).
    pub(crate) fn new(section: &'static str, key: &'static str, message: String) -> BadValue {
        BadValue {
            section,
            key,
            message,
        }
    }

    /// The one-line message, with the key's line in `text` when it can be found.
    fn describe(&self, text: &str) -> String {
        let place = match line_of(text, self.section, self.key) {
            Some(line) => format!("line {line}: "),
            None => String::new(),
        };
        format!("{place}{}.{}: {}", self.section, self.key, self.message)
    }
}

/// An error unless `value` is within `range` (inclusive).
pub(crate) fn check_range(
    section: &'static str,
    key: &'static str,
    value: u64,
    range: RangeInclusive<u64>,
) -> std::result::Result<(), BadValue> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(BadValue::new(
        section,
        key,
        format!(
            "{value} is out of range; use {} to {}",
            range.start(),
            range.end()
        ),
    ))
}

/// The bounds of `[engagement]` (checked here: the section's type lives with the engagement
/// stage, its limits with the rest of the rules file).
fn validate_engagement(rules: &EngagementRules) -> std::result::Result<(), BadValue> {
    const SECTION: &str = "engagement";
    for (key, value, max) in [
        ("inactive_days", rules.inactive_days, MAX_DAYS),
        ("inactive_min_sends", rules.inactive_min_sends, MAX_COUNT),
        ("signup_grace_days", rules.signup_grace_days, MAX_DAYS),
        ("trap_min_deliveries", rules.trap_min_deliveries, MAX_COUNT),
        ("trap_old_signup_days", rules.trap_old_signup_days, MAX_DAYS),
        (
            "scanner_click_seconds",
            rules.scanner_click_seconds,
            MAX_SCANNER_SECONDS,
        ),
        ("soft_bounce_streak", rules.soft_bounce_streak, MAX_COUNT),
    ] {
        check_range(SECTION, key, value.into(), 0..=max)?;
    }
    // See: #11 part 3
    for kind in rules.event_names.values() {
        if !crate::engagement::EVENT_KINDS.contains(&kind.as_str()) {
            return Err(BadValue::new(
                "engagement",
                "event_names",
                format!(
                    "a name maps to an unknown kind; use one of {}",
                    crate::engagement::EVENT_KINDS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The line of `key` in `[section]` of a TOML text, if the text says it plainly.
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let (_, table) = document
        .get_ref()
        .iter()
        .find(|(name, _)| name.get_ref() == section)?;
    let toml::de::DeValue::Table(table) = table.get_ref() else {
        return None;
    };
    let (name, _) = table.iter().find(|(name, _)| name.get_ref() == key)?;
    let start = name.span().start;
    Some(text.get(..start)?.matches('\n').count() + 1)
}

/// toml's messages span several lines (with a source excerpt); keep them to one.
fn one_line(message: &str) -> String {
    message
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rules file of exactly `size` bytes: padding comments, then `[dns] retries = 2` with
    /// the value as its very last byte (so that reading one byte short fails to parse).
    fn rules_file_of(size: usize) -> tempfile::NamedTempFile {
        let tail = "\n[dns]\nretries = 2";
        let mut text = String::new();
        while text.len() + tail.len() < size {
            let room = size - tail.len() - text.len();
            let line = "#".repeat(room.min(100) - 1);
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(tail);
        assert_eq!(text.len(), size);
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn a_rules_file_of_exactly_the_limit_loads_and_one_byte_more_does_not() {
        // See: #16 item 13
        let limit = usize::try_from(MAX_RULES_BYTES).expect("fits");
        let rules = RuleSet::load(rules_file_of(limit).path()).expect("1 MiB loads");
        assert_eq!(rules.dns.retries, 2);
        let error = RuleSet::load(rules_file_of(limit + 1).path())
            .expect_err("over the limit")
            .to_string();
        assert!(error.contains("larger than the limit of 1 MiB"), "{error}");
    }

    #[test]
    fn toml_messages_fold_to_one_line_without_the_gutter() {
        assert_eq!(
            one_line("TOML parse error at line 2\n  |\n2 | x = \n  |     ^\n\nexpected a value\n"),
            "TOML parse error at line 2 2 | x = |     ^ expected a value"
        );
    }

    #[test]
    fn shipped_defaults_parse_to_the_builtin_defaults() {
        let file: RulesFile = toml::from_str(DEFAULT_RULES).unwrap();
        let mut expected = RulesFile::default();
        for reason in Reason::ALL {
            expected.actions.insert(*reason, reason.default_action());
        }
        assert_eq!(file, expected);
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let err = RuleSet::parse(
            "[actions]\nduplicate = \"review\"\n\n[lists]\nroles = []\n",
            Path::new("r.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("roles") && err.contains("line 5"), "{err}");
        let err = RuleSet::parse("[actions]\nnot_a_reason = \"keep\"\n", Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not_a_reason") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn strictest_action_wins_then_precedence() {
        let rules = RuleSet::defaults();
        let d = rules.decide(&[
            Finding::new(Reason::RoleAccount, "role mailbox info@"),
            Finding::new(Reason::Inactive, "no open"),
            Finding::new(Reason::Complained, "complaint 2024-01-02"),
        ]);
        assert_eq!(d.action, Action::Suppress);
        assert_eq!(d.reason, Some(Reason::Complained));
        assert_eq!(
            d.detail,
            "complaint 2024-01-02 (also: inactive, role_account)"
        );
        assert_eq!(rules.decide(&[]).action, Action::Keep);
    }

    #[test]
    fn keep_mapped_reasons_do_not_decide() {
        let rules =
            RuleSet::parse("[actions]\nrole_account = \"keep\"\n", Path::new("r.toml")).unwrap();
        let d = rules.decide(&[Finding::new(Reason::RoleAccount, "role mailbox info@")]);
        assert_eq!(d.action, Action::Keep);
        assert_eq!(d.reason, None);
    }

    // See: #16 item 13
    #[test]
    fn numeric_keys_out_of_bounds_are_errors_naming_key_and_line() {
        for (text, key, line) in [
            ("[dns]\nretries = 4000000000\n", "dns.retries", 2),
            (
                "# c\n\n[dns]\nretry_backoff_ms = 18446744073709551615\n",
                "dns.retry_backoff_ms",
                4,
            ),
            ("[dns]\nmax_ttl_secs = 99999999999\n", "dns.max_ttl_secs", 2),
            (
                "[engagement]\ninactive_days = 4000000000\n",
                "engagement.inactive_days",
                2,
            ),
        ] {
            let err = RuleSet::parse(text, Path::new("r.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(key)
                    && err.contains(&format!("line {line}:"))
                    && err.contains("use 0 to"),
                "{err}"
            );
        }
    }

    // See: #11 part 3
    #[test]
    fn event_names_map_to_known_kinds_only() {
        let rules = RuleSet::parse(
            "[engagement.event_names]\nZugestellt = \"delivered\"\n",
            Path::new("r.toml"),
        )
        .unwrap();
        assert_eq!(rules.engagement.event_names["Zugestellt"], "delivered");
        let err = RuleSet::parse(
            "[engagement.event_names]\nZugestellt = \"arrived\"\n",
            Path::new("r.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("engagement.event_names") && err.contains("machine_open"),
            "{err}"
        );
        let err = RuleSet::parse(
            "[engagement]\nsoft_bounce_streak = 2000000\n",
            Path::new("r.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("engagement.soft_bounce_streak"), "{err}");
    }

    // See: #16 item 16
    #[test]
    fn empty_canaries_and_inverted_ttl_bounds_are_errors() {
        let err = RuleSet::parse(
            "[dns]\ncanaries = [\"gmail.com\", \"\"]\n",
            Path::new("r.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dns.canaries") && err.contains("line 2"),
            "{err}"
        );
        let err = RuleSet::parse(
            "[dns]\nmin_ttl_secs = 90000\nmax_ttl_secs = 3600\n",
            Path::new("r.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dns.min_ttl_secs") && err.contains("max_ttl_secs = 3600"),
            "{err}"
        );
        let err = RuleSet::parse("[dns]\nnegative_max_ttl_secs = 60\n", Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dns.negative_min_ttl_secs"), "{err}");
        // The shipped defaults are within every bound.
        RuleSet::parse(DEFAULT_RULES, Path::new("defaults")).unwrap();
    }
}
