//! The verdict on one examined, registered row: every finding (syntax, duplicate, lists, DNS,
//! engagement, typo, role), then the [`RuleSet`]'s decision.
//!
//! Consumes an [`Examined`] row and the run's domain table; produces a [`Verdict`]. Holds no
//! state that changes while rows are judged, so rows are judged on any thread.

use std::sync::Arc;

use chrono::NaiveDate;

use super::{DomainEntry, Examined};
use crate::engagement::{self, Context, History};
use crate::reason::{Finding, Reason};
use crate::resolve::{DomainInfo, DomainStatus};
use crate::rules::{Decision, RuleSet};
use crate::syntax;

/// One row's decision plus what the report counts about it.
pub(super) struct Verdict {
    pub(super) line: u64,
    pub(super) decision: Decision,
    pub(super) provider: Option<&'static str>,
    /// `Some` when engagement history was given: days since the last human engagement.
    pub(super) days: Option<Option<i64>>,
    pub(super) applied: Vec<Reason>,
    /// The vendor status column whose reason decided the row, and that reason.
    pub(super) decided_by_status: Option<(usize, Reason)>,
}

/// What judging needs that does not change while rows are judged.
pub(super) struct Judge {
    pub(super) rules: Arc<RuleSet>,
    pub(super) history: Arc<History>,
    pub(super) as_of: NaiveDate,
    /// Every domain seen, in first-seen order; rows point at them by index.
    pub(super) domains: Vec<DomainEntry>,
    /// The answer for a domain that has none (cannot happen through [`super::Decider`]; a
    /// row is never kept for want of an answer).
    pub(super) no_answer: Arc<DomainInfo>,
}

impl Judge {
    /// Judges one row.
    pub(super) fn verdict(&self, row: &Examined) -> Verdict {
        let (findings, provider, days) = self.findings(row);
        let decision = self.rules.decide(&findings);
        // A vendor status finding comes before any other of its reason, so it decides when
        // its reason does.
        let decided_by_status = row
            .contacts
            .status()
            .filter(|(_, reason, _)| decision.reason == Some(*reason))
            .map(|(column, reason, _)| (*column, *reason));
        Verdict {
            line: row.line,
            decision,
            provider,
            days,
            applied: findings.iter().map(|f| f.reason).collect(),
            decided_by_status,
        }
    }

    /// Every finding for one row, its provider, and its days since engagement (when history
    /// was given).
    fn findings(
        &self,
        row: &Examined,
    ) -> (Vec<Finding>, Option<&'static str>, Option<Option<i64>>) {
        let mut findings = Vec::new();
        let normalized = match &row.syntax {
            Err(issue) => {
                let detail = match &row.suggestion {
                    Some(mapped) => format!("{issue}; did you mean {mapped}?"),
                    None => issue.describe().to_string(),
                };
                findings.push(Finding::new(Reason::InvalidSyntax, detail));
                return (findings, None, None);
            }
            Ok(n) => n,
        };
        if let Some(first) = row.duplicate_of {
            findings.push(Finding::new(
                Reason::Duplicate,
                format!("same address as line {first}"),
            ));
            return (findings, None, None);
        }
        if syntax::needs_smtputf8(normalized) {
            // See: #10 part 2.
            findings.push(Finding::new(
                Reason::NeedsSmtputf8,
                "deliverable only through a sending service that supports SMTPUTF8 (RFC 6531)",
            ));
        }
        if let Some(kind) = row.suppressed {
            findings.push(Finding::new(
                Reason::SuppressionList,
                format!("on a suppression list ({kind})"),
            ));
        }
        if let Some((_, reason, detail)) = row.contacts.status() {
            // First, so that it decides among findings of its own reason.
            findings.insert(0, Finding::new(*reason, detail.to_string()));
        }
        if let Some(detail) = row.contacts.no_consent() {
            findings.push(Finding::new(Reason::NoConsent, detail));
        }
        let domain = normalized.domain();
        let entry = row.domain.and_then(|id| self.domains.get(id as usize));
        let info = entry
            .and_then(|e| e.dns.as_ref())
            .unwrap_or(&self.no_answer);
        let lists = entry.map(|e| &e.lists);
        let typo = lists.and_then(|l| l.typo.as_deref());
        // A typo suggestion stands only when the typed domain cannot take mail (or is parked);
        // without DNS we cannot tell, so it stands too.
        let typo = typo.filter(|_| !info.status.accepts_mail() || info.parked);
        let did_you_mean = typo
            .map(|t| format!("; did you mean {t}?"))
            .unwrap_or_default();
        match info.status {
            DomainStatus::NoDomain => findings.push(Finding::new(
                Reason::NoDomain,
                format!("{domain}: {}{did_you_mean}", info.detail),
            )),
            DomainStatus::NullMx => findings.push(Finding::new(
                Reason::NullMx,
                format!("{domain}: {}", info.detail),
            )),
            DomainStatus::NoMx => findings.push(Finding::new(
                Reason::NoMx,
                format!("{domain}: {}{did_you_mean}", info.detail),
            )),
            DomainStatus::Unknown => findings.push(Finding::new(
                Reason::DnsUnknown,
                format!("{domain}: {}", info.detail),
            )),
            DomainStatus::Ok | DomainStatus::ImplicitMx | DomainStatus::Unchecked => {}
        }
        if info.parked {
            // The detail names the parking service (see: #15 part 6).
            findings.push(Finding::new(
                Reason::ParkedDomain,
                format!("{domain}: {}", info.detail),
            ));
        }
        if let Some(entry) = lists.and_then(|l| l.disposable.as_deref()) {
            // Lists of throw-away domains include typo-squatted ones (`gmial.com`): keep the
            // suggestion in the evidence so the contact can be recovered.
            let hint = lists
                .and_then(|l| l.typo.as_deref())
                .map(|t| format!("; did you mean {t}?"))
                .unwrap_or_default();
            findings.push(Finding::new(
                Reason::Disposable,
                format!("disposable mailbox provider ({entry}){hint}"),
            ));
        }
        let mut days = None;
        if !self.history.is_empty() {
            let profile = self.history.get(row.key);
            let context = Context {
                as_of: self.as_of,
                signup: row.contacts.signup.map(crate::dates::Day::date),
                parked: info.parked,
            };
            let evaluation = engagement::evaluate(profile, &context, &self.rules.engagement);
            days = Some(evaluation.days_since_engagement);
            findings.extend(evaluation.findings);
        }
        if let Some(target) = typo {
            // Without DNS the detail is "DNS not checked".
            let evidence = if info.parked {
                "domain is parked"
            } else {
                &info.detail
            };
            findings.push(Finding::new(
                Reason::TypoDomain,
                format!("did you mean {target}? ({domain}: {evidence})"),
            ));
        }
        if self.rules.lists.is_role(normalized.local()) {
            let local = normalized.local().split('+').next().unwrap_or_default();
            findings.push(Finding::new(
                Reason::RoleAccount,
                format!("role mailbox ({local}@)"),
            ));
        }
        (findings, info.provider, days)
    }
}
