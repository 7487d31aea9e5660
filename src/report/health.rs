//! `report.json`'s `list_health` and `concentration`: what a list would do to the three numbers
//! mailbox providers grade senders on (unknown users, spam-trap hits, complaints), before and
//! after cleaning, and how concentrated it is on a few providers and domains.
//!
//! Consumes the decision stage's counts (rows per set of applied reasons, kept or not; rows per
//! domain and provider); produces plain report structs. Never sees an address. See: #12 part 1.

use serde::Serialize;

use crate::reason::Reason;

/// One of the three numbers providers grade senders on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Mail to mailboxes or domains that do not exist (hard bounces).
    UnknownUsers,
    /// Addresses that look like spam traps (recycled, typo or throw-away domains, long dormant).
    TrapRisk,
    /// Contacts likely to press "report spam".
    Complaints,
}

impl Component {
    /// Every component, in report order.
    pub const ALL: [Component; 3] = [
        Component::UnknownUsers,
        Component::TrapRisk,
        Component::Complaints,
    ];

    /// The component's key in `report.json`.
    pub fn key(self) -> &'static str {
        match self {
            Component::UnknownUsers => "unknown_users",
            Component::TrapRisk => "trap_risk",
            Component::Complaints => "complaints",
        }
    }

    /// The average share of the best senders (Sender Score 90 and above), in percent.
    pub fn best_percent(self) -> f64 {
        match self {
            Component::UnknownUsers => 1.0,
            Component::TrapRisk => 0.36,
            Component::Complaints => 1.0,
        }
    }

    /// The average share of the worst senders (Sender Score 10 and below), in percent.
    pub fn worst_percent(self) -> f64 {
        match self {
            Component::UnknownUsers => 7.0,
            Component::TrapRisk => 7.53,
            Component::Complaints => 7.4,
        }
    }
}

/// Which reasons feed which component: the one table to extend when a reason is added. A
/// reason not listed here (duplicate, suppression_list, unsubscribed, role_account,
/// dns_unknown, needs_smtputf8) feeds none. Codes are matched as text, so a code that this
/// build does not have yet is simply never seen.
pub const REASON_COMPONENTS: &[(&str, Component)] = &[
    ("invalid_syntax", Component::UnknownUsers),
    ("no_domain", Component::UnknownUsers),
    ("null_mx", Component::UnknownUsers),
    ("no_mx", Component::UnknownUsers),
    ("hard_bounced", Component::UnknownUsers),
    ("repeated_soft_bounce", Component::UnknownUsers),
    ("suspected_recycled_trap", Component::TrapRisk),
    ("inactive", Component::TrapRisk),
    ("typo_domain", Component::TrapRisk),
    ("disposable", Component::TrapRisk),
    ("parked_domain", Component::TrapRisk),
    ("complained", Component::Complaints),
    ("no_consent", Component::Complaints),
];

/// The component a reason code feeds, if any.
pub fn component_of(code: &str) -> Option<Component> {
    REASON_COMPONENTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, component)| *component)
}

/// `list_health`.
#[derive(Debug, Clone, Serialize)]
pub struct ListHealth {
    /// How the shares are estimated, in words.
    pub method: &'static str,
    /// Rows the "before" shares are of: every row read as a row (rejected records excluded).
    pub rows_before: u64,
    /// Rows the "after" shares are of: the rows in `clean.csv`.
    pub rows_after: u64,
    /// Estimated share of unknown users (hard bounces).
    pub unknown_users: HealthFigure,
    /// Estimated share of spam-trap risk.
    pub trap_risk: HealthFigure,
    /// Estimated share of complaint risk.
    pub complaints: HealthFigure,
    /// Gmail and Yahoo's 2024 bulk-sender complaint lines, before and after cleaning.
    pub complaint_lines: ComplaintLines,
}

/// One component of [`ListHealth`].
#[derive(Debug, Clone, Serialize)]
pub struct HealthFigure {
    /// The reason codes that feed it (rows where any of them applied, deciding or not).
    pub fed_by: Vec<&'static str>,
    /// Log events behind those reasons, when an engagement log was given.
    pub events: &'static str,
    /// Rows counted before cleaning.
    pub rows_before: u64,
    /// Share of all rows before cleaning, in percent.
    pub percent_before: f64,
    /// Rows counted among the kept rows.
    pub rows_after: u64,
    /// Share of the kept rows, in percent.
    pub percent_after: f64,
    /// The best senders' average, in percent.
    pub best_senders_percent: f64,
    /// The worst senders' average, in percent.
    pub worst_senders_percent: f64,
    /// Where the list sits before cleaning: `best`, `between` or `worst`.
    pub band_before: &'static str,
    /// The same after cleaning.
    pub band_after: &'static str,
}

/// The 0.1% / 0.3% complaint lines.
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintLines {
    /// Keep under this (percent).
    pub target_percent: f64,
    /// Never reach this (percent).
    pub limit_percent: f64,
    /// `under_target`, `over_target` or `at_or_over_limit`, before cleaning.
    pub before: &'static str,
    /// The same after cleaning.
    pub after: &'static str,
}

const METHOD: &str = "A row counts towards a component when any reason feeding it applied to \
the row, deciding or not (reasons come from syntax, DNS, the lists and the engagement log's \
hard_bounce, complaint, delivery and open/click events). Before = share of all rows read; after \
= share of the rows in clean.csv. These are estimates of risk from the list's own evidence, not \
measured provider rates: a list with no engagement log has no bounce or complaint evidence and \
reads low. Bands: best = at or below the average of senders with Sender Score 90+ (1% \
complaints, 1% unknown users, 0.36% trap hits), worst = at or above that of Sender Score 10 and \
below (7.4%, 7%, 7.53%), between otherwise.";

/// The band of a share against a component's averages.
fn band(component: Component, percent: f64) -> &'static str {
    if percent <= component.best_percent() {
        "best"
    } else if percent >= component.worst_percent() {
        "worst"
    } else {
        "between"
    }
}

/// Where a complaint share sits against the 0.1% / 0.3% lines.
fn complaint_line(percent: f64) -> &'static str {
    if percent >= 0.3 {
        "at_or_over_limit"
    } else if percent >= 0.1 {
        "over_target"
    } else {
        "under_target"
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Rounded to 4 decimals so that report.json stays readable and stable.
        (part as f64 * 100.0 / whole as f64 * 1e4).round() / 1e4
    }
}

/// List health from rows per (set of applied reasons, kept) with bit `i` = `Reason::ALL[i]`.
pub fn list_health<'a>(
    reason_sets: impl IntoIterator<Item = (&'a (u64, bool), &'a u64)>,
    has_log: bool,
) -> ListHealth {
    let (mut before, mut after) = (0u64, 0u64);
    let mut counts = [(0u64, 0u64); 3];
    for (&(set, kept), &n) in reason_sets {
        before += n;
        if kept {
            after += n;
        }
        for (slot, component) in counts.iter_mut().zip(Component::ALL) {
            let hit = Reason::ALL.iter().enumerate().any(|(i, r)| {
                set & (1 << (i % 64)) != 0 && component_of(r.code()) == Some(component)
            });
            if hit {
                slot.0 += n;
                if kept {
                    slot.1 += n;
                }
            }
        }
    }
    let figure = |index: usize| {
        let component = Component::ALL[index];
        let (b, a) = counts[index];
        let events = match (component, has_log) {
            (_, false) => "no engagement log given",
            (Component::UnknownUsers, true) => "hard_bounce (and soft_bounce) events",
            (Component::TrapRisk, true) => "hard_bounce, delivered and open/click events",
            (Component::Complaints, true) => "complaint events",
        };
        HealthFigure {
            fed_by: Reason::ALL
                .iter()
                .map(|r| r.code())
                .filter(|code| component_of(code) == Some(component))
                .collect(),
            events,
            rows_before: b,
            percent_before: percent(b, before),
            rows_after: a,
            percent_after: percent(a, after),
            best_senders_percent: component.best_percent(),
            worst_senders_percent: component.worst_percent(),
            band_before: band(component, percent(b, before)),
            band_after: band(component, percent(a, after)),
        }
    };
    let complaints = figure(2);
    ListHealth {
        method: METHOD,
        rows_before: before,
        rows_after: after,
        unknown_users: figure(0),
        trap_risk: figure(1),
        complaint_lines: ComplaintLines {
            target_percent: 0.1,
            limit_percent: 0.3,
            before: complaint_line(complaints.percent_before),
            after: complaint_line(complaints.percent_after),
        },
        complaints,
    }
}

/// `concentration`: rows per provider and per domain, and how much of the list the largest
/// take.
#[derive(Debug, Clone, Serialize)]
pub struct Concentration {
    /// Rows counted: valid first occurrences of an address.
    pub rows: u64,
    /// Recognised mailbox providers, most rows first.
    pub providers: Vec<Share>,
    /// The largest domains (at most [`TOP_DOMAINS`]), most rows first.
    pub top_domains: Vec<Share>,
    /// Share of the largest domain, in percent.
    pub top_domain_percent: f64,
    /// Share of the five largest domains together, in percent.
    pub top_5_domains_percent: f64,
    /// Herfindahl-Hirschman index over all domains (0 to 10,000; above 2,500 is highly
    /// concentrated).
    pub domain_hhi: f64,
}

/// One provider's or domain's rows.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    /// The provider's or domain's name.
    pub name: String,
    /// Rows.
    pub rows: u64,
    /// Share of [`Concentration::rows`], in percent.
    pub percent: f64,
}

/// How many domains `top_domains` lists.
pub const TOP_DOMAINS: usize = 10;

/// Concentration from rows per provider and rows per domain (every domain, any order).
pub fn concentration<'a>(
    providers: impl IntoIterator<Item = (&'a str, u64)>,
    domains: &[(&str, u64)],
) -> Concentration {
    let rows: u64 = domains.iter().map(|(_, n)| n).sum();
    let share = |(name, n): (&str, u64)| Share {
        name: name.to_string(),
        rows: n,
        percent: percent(n, rows),
    };
    // Only the largest few are ever shown: select them, then sort those (a list can hold
    // hundreds of thousands of domains). Ties go by name, so the order is total.
    let order = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then(a.0.cmp(b.0));
    let keep = TOP_DOMAINS.max(5);
    let mut sorted = domains.to_vec();
    if sorted.len() > keep {
        sorted.select_nth_unstable_by(keep - 1, order);
        sorted.truncate(keep);
    }
    sorted.sort_by(order);
    let mut providers: Vec<Share> = providers.into_iter().map(share).collect();
    providers.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.name.cmp(&b.name)));
    let hhi = if rows == 0 {
        0.0
    } else {
        let sum: f64 = domains
            .iter()
            .map(|(_, n)| (*n as f64 * 100.0 / rows as f64).powi(2))
            .sum();
        (sum * 100.0).round() / 100.0
    };
    Concentration {
        rows,
        providers,
        top_domain_percent: sorted.first().map_or(0.0, |d| percent(d.1, rows)),
        top_5_domains_percent: percent(sorted.iter().take(5).map(|d| d.1).sum(), rows),
        top_domains: sorted.into_iter().take(TOP_DOMAINS).map(share).collect(),
        domain_hhi: hhi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit(code: &str) -> u64 {
        let i = Reason::ALL
            .iter()
            .position(|r| r.code() == code)
            .expect("code");
        1 << i
    }

    #[test]
    fn a_row_counts_once_per_component_before_and_after() {
        // See: #12 part 1
        let sets = [
            ((bit("invalid_syntax") | bit("no_mx"), false), 3),
            ((bit("complained"), false), 1),
            ((bit("typo_domain"), true), 2),
            ((0, true), 94),
        ];
        let health = list_health(sets.iter().map(|(k, v)| (k, v)), true);
        assert_eq!(health.rows_before, 100);
        assert_eq!(health.rows_after, 96);
        assert_eq!(health.unknown_users.rows_before, 3);
        assert_eq!(health.unknown_users.band_before, "between");
        assert_eq!(health.unknown_users.rows_after, 0);
        assert_eq!(health.trap_risk.rows_after, 2);
        assert_eq!(health.trap_risk.percent_after, 2.0833);
        assert_eq!(health.complaints.percent_before, 1.0);
        assert_eq!(health.complaint_lines.before, "at_or_over_limit");
        assert_eq!(health.complaint_lines.after, "under_target");
    }

    #[test]
    fn concentration_of_a_two_domain_list() {
        // See: #12 part 1
        let c = concentration([("gmail", 3)], &[("b.com", 1), ("gmail.com", 3)]);
        assert_eq!(c.top_domains[0].name, "gmail.com");
        assert_eq!(c.top_domain_percent, 75.0);
        assert_eq!(c.domain_hhi, 6250.0);
    }
}
