//! The rules file: reason → action map, risk lists and thresholds, and the decision.
//!
//! Consumes TOML (the shipped defaults, or `--rules FILE`), produces a compiled [`RuleSet`].
//! It is read once, before any data; an unknown key is an error naming the key and its line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engagement::EngagementRules;
use crate::error::{Error, Result};
use crate::lists::{Lists, ListsConfig};
use crate::reason::{Action, Finding, Reason};
use crate::resolve::DnsRules;

/// The shipped default rules, commented; `listwash rules --defaults` prints this.
pub const DEFAULT_RULES: &str = include_str!("default_rules.toml");

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
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
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
            message: one_line(&e.to_string()),
        })?;
        file.lists.validate().map_err(|message| Error::Rules {
            path: path.to_path_buf(),
            message,
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
}
