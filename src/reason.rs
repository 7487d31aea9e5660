//! Reason codes and actions: the stable vocabulary of `listwash_reason` and the rules file.

use serde::{Deserialize, Serialize};

/// What happens to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Mail it: `clean.csv`.
    Keep,
    /// A person decides: `review.csv`.
    Review,
    /// Do not mail it: `suppressed.csv`.
    Suppress,
}

impl Action {
    /// The action's name as written in rules files and `check` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Review => "review",
            Action::Suppress => "suppress",
        }
    }
}

macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal => $action:ident, )*) => {
        /// Why a row was not kept as is. The order of the variants is the contract's precedence:
        /// among reasons with the same action, the earlier one decides.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Reason {
            $( $(#[$doc])* $variant, )*
        }

        impl Reason {
            /// Every reason, in precedence order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The stable snake_case code written to `listwash_reason`.
            pub fn code(self) -> &'static str {
                match self { $(Reason::$variant => $code,)* }
            }

            /// The contract's default action for this reason.
            pub fn default_action(self) -> Action {
                match self { $(Reason::$variant => Action::$action,)* }
            }

            /// Parses a reason code.
            pub fn from_code(code: &str) -> Option<Reason> {
                match code { $($code => Some(Reason::$variant),)* _ => None }
            }
        }
    };
}

reasons! {
    /// Not a deliverable address form.
    InvalidSyntax = "invalid_syntax" => Suppress,
    /// Same normalised address seen earlier in the input.
    Duplicate = "duplicate" => Suppress,
    /// Matches a `--suppress` list.
    SuppressionList = "suppression_list" => Suppress,
    /// The domain does not exist (NXDOMAIN).
    NoDomain = "no_domain" => Suppress,
    /// The domain publishes a null MX (RFC 7505).
    NullMx = "null_mx" => Suppress,
    /// Neither MX nor A/AAAA records.
    NoMx = "no_mx" => Suppress,
    /// A throw-away mailbox provider.
    Disposable = "disposable" => Suppress,
    /// A hard bounce with no later successful delivery.
    HardBounced = "hard_bounced" => Suppress,
    /// A spam complaint.
    Complained = "complained" => Suppress,
    /// An unsubscribe.
    Unsubscribed = "unsubscribed" => Suppress,
    /// Engagement history matches the recycled spam-trap pattern.
    SuspectedRecycledTrap = "suspected_recycled_trap" => Suppress,
    /// No human open or click for longer than the rules allow, though mailed enough.
    Inactive = "inactive" => Suppress,
    /// Soft bounces in a row with no delivery between them (at least the rules' streak).
    RepeatedSoftBounce = "repeated_soft_bounce" => Review,
    /// The domain looks like a misspelling of a major provider.
    TypoDomain = "typo_domain" => Review,
    /// A role mailbox (`info@`, `sales@`, …).
    RoleAccount = "role_account" => Review,
    /// DNS gave no answer in time.
    DnsUnknown = "dns_unknown" => Review,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One reason that applies to a row, with its human-readable evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The reason code.
    pub reason: Reason,
    /// Evidence for `listwash_detail`.
    pub detail: String,
}

impl Finding {
    /// Creates a finding.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Finding {
        Finding {
            reason,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_display_as_codes() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.code()), Some(*reason));
            assert_eq!(reason.to_string(), reason.code());
        }
        assert_eq!(Reason::from_code("no_such_reason"), None);
        assert_eq!(Reason::ALL[0], Reason::InvalidSyntax);
        assert_eq!(Reason::DnsUnknown.default_action(), Action::Review);
        assert_eq!(Reason::Duplicate.default_action(), Action::Suppress);
    }
}
