//! The columns of a contact file beyond the address: signup dates, vendor status columns and
//! consent columns, as exported by Mailchimp, Klaviyo, HubSpot, Brevo, Mailjet,
//! ActiveCampaign, Salesforce, Shopify and spreadsheets (English, German, French, Spanish).
//! Sources of every name: `tests/fixtures/contacts/README.md`.
//!
//! Consumes a header (once per file); produces a [`ContactColumns`] plan: which columns hold
//! signup dates (in order of preference, read per row until one is not empty), which say that
//! the exporting service already unsubscribed, cleaned or suppressed the contact, and which
//! hold consent. Reading a row's cells with the plan is [`ContactColumns::status`] and
//! [`ContactColumns::consent`]; nothing here is per-row work on the header. Never reads a file.

use super::normalise;
use crate::reason::Reason;

/// A signup date column: its names, and whether a date in it is evidence of consent (an
/// opt-in or confirmation date) or only of when the record was made (`Create Date`).
struct SignupName {
    name: &'static str,
    consent: bool,
}

const fn opt_in(name: &'static str) -> SignupName {
    SignupName {
        name,
        consent: true,
    }
}

const fn created(name: &'static str) -> SignupName {
    SignupName {
        name,
        consent: false,
    }
}

/// Signup date columns, most preferred first. Mailchimp's `OPTIN_TIME` is empty for imported
/// members while `CONFIRM_TIME` is set: a row falls back to the next column that has a value.
const SIGNUP_NAMES: &[SignupName] = &[
    opt_in("signup_date"),
    opt_in("signed_up_at"),
    opt_in("subscribed_at"),
    opt_in("subscription_date"),
    opt_in("optin_time"),
    opt_in("optin_date"),
    opt_in("opt_in_date"),
    opt_in("confirm_time"),
    opt_in("confirmed_at"),
    opt_in("email_marketing_consent_timestamp"),
    opt_in("anmeldedatum"),
    opt_in("anmeldung"),
    opt_in("date_inscription"),
    opt_in("date_d'inscription"),
    opt_in("fecha_de_alta"),
    opt_in("fecha_de_suscripción"),
    created("created_at"),
    created("createdat"),
    created("created"),
    created("date_added"),
    created("profile_created_on"),
    created("create_date"),
    created("date_created"),
    created("created_date"),
    created("added_time"),
    created("creation_date"),
    created("erstellt_am"),
    created("joined"),
];

/// What a vendor status column's cell says.
#[derive(Debug, Clone, Copy)]
enum Says {
    /// Any value (a time) means the reason applies (Mailchimp `UNSUB_TIME`).
    AnyValue(Reason),
    /// A true value (`true`, `yes`, `1`, `x`) means the reason applies (HubSpot
    /// `Unsubscribed from all email`).
    WhenTrue(Reason),
    /// These values (compared case-insensitively) mean these reasons (Klaviyo consent).
    Values(&'static [(&'static str, Reason)]),
}

/// Klaviyo's email consent values that stop mail.
const KLAVIYO_STOPS: &[(&str, Reason)] = &[
    ("unsubscribed", Reason::Unsubscribed),
    ("suppressed", Reason::SuppressionList),
];

/// ActiveCampaign's contact statuses that stop mail.
const ACTIVECAMPAIGN_STOPS: &[(&str, Reason)] = &[
    ("unsubscribed", Reason::Unsubscribed),
    ("bounced", Reason::HardBounced),
];

/// Vendor status columns: header name (compared after [`normalise`]) and what it says.
const STATUS_NAMES: &[(&str, Says)] = &[
    // Mailchimp: unsubscribed and cleaned members.
    ("unsub_time", Says::AnyValue(Reason::Unsubscribed)),
    ("clean_time", Says::AnyValue(Reason::HardBounced)),
    // Klaviyo.
    ("email_marketing_consent", Says::Values(KLAVIYO_STOPS)),
    ("email_consent", Says::Values(KLAVIYO_STOPS)),
    // HubSpot.
    (
        "unsubscribed_from_all_email",
        Says::WhenTrue(Reason::Unsubscribed),
    ),
    ("hs_email_optout", Says::WhenTrue(Reason::Unsubscribed)),
    // Brevo.
    ("email_blacklisted", Says::WhenTrue(Reason::Unsubscribed)),
    ("blacklisted", Says::WhenTrue(Reason::Unsubscribed)),
    ("emailblacklisted", Says::WhenTrue(Reason::Unsubscribed)),
    // Mailjet.
    (
        "isexcludedfromcampaigns",
        Says::WhenTrue(Reason::SuppressionList),
    ),
    (
        "is_excluded_from_campaigns",
        Says::WhenTrue(Reason::SuppressionList),
    ),
    // ActiveCampaign.
    ("status", Says::Values(ACTIVECAMPAIGN_STOPS)),
    // Salesforce.
    ("email_opt_out", Says::WhenTrue(Reason::Unsubscribed)),
    ("hasoptedoutofemail", Says::WhenTrue(Reason::Unsubscribed)),
    ("email_bounced_date", Says::AnyValue(Reason::HardBounced)),
    ("emailbounceddate", Says::AnyValue(Reason::HardBounced)),
];

/// What a consent column's cell says.
#[derive(Debug, Clone, Copy)]
enum Consent {
    /// `yes`/`no` (and `true`/`false`, `1`/`0`, `ja`/`nein`, `oui`/`non`, `sí`/`no`).
    YesNo,
    /// Klaviyo's values: `SUBSCRIBED` is consent; `NEVER_SUBSCRIBED`, `UNSUBSCRIBED`,
    /// `SUPPRESSED` are not.
    Klaviyo,
}

/// Consent columns, most preferred first.
const CONSENT_NAMES: &[(&str, Consent)] = &[
    ("accepts_email_marketing", Consent::YesNo),
    ("accepts_marketing", Consent::YesNo),
    ("email_marketing_consent", Consent::Klaviyo),
    ("email_consent", Consent::Klaviyo),
    ("consent", Consent::YesNo),
    ("marketing_consent", Consent::YesNo),
    ("gdpr_consent", Consent::YesNo),
    ("opt_in", Consent::YesNo),
    ("optin", Consent::YesNo),
    ("newsletter", Consent::YesNo),
    ("einwilligung", Consent::YesNo),
    ("consentement", Consent::YesNo),
    ("consentimiento", Consent::YesNo),
];

/// A vendor status column found in a header.
#[derive(Debug, Clone, Copy)]
struct StatusColumn {
    index: usize,
    says: Says,
}

/// A consent column found in a header.
#[derive(Debug, Clone, Copy)]
struct ConsentColumn {
    index: usize,
    kind: Consent,
}

/// The contact-file columns found once in a header, read per row.
#[derive(Debug, Clone, Default)]
pub struct ContactColumns {
    /// The header's names, as written (for reports and details).
    names: Vec<String>,
    /// Signup date columns, most preferred first, with whether a date is consent.
    signup: Vec<(usize, bool)>,
    status: Vec<StatusColumn>,
    consent: Vec<ConsentColumn>,
}

/// A row's status evidence: the column that stops mail, and the reason it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusHit {
    /// The column's index.
    pub column: usize,
    /// The reason the exporting service's status gives.
    pub reason: Reason,
}

/// A row's consent evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentEvidence {
    /// A consent column says yes.
    Column(usize),
    /// An opt-in or confirmation date is set in this column.
    OptInDate(usize),
    /// A consent column says no (or not subscribed).
    Negative(usize),
    /// Nothing says yes or no.
    None,
}

/// Returns true if and only if a flag cell reads as true.
fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "y" | "1" | "x" | "ja" | "oui" | "sí" | "si" | "wahr" | "vrai"
    )
}

/// Returns true if and only if a flag cell reads as false.
fn falsy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "false" | "no" | "n" | "0" | "nein" | "non" | "falsch" | "faux"
    )
}

impl ContactColumns {
    /// Finds the columns in `header`. `signup` is `--signup-column`'s index, if given: then
    /// it is the only signup column (and counts as an opt-in date).
    pub fn find<S: AsRef<str>>(header: &[S], signup: Option<usize>) -> ContactColumns {
        let names: Vec<String> = header.iter().map(|n| n.as_ref().to_string()).collect();
        let normalised: Vec<String> = names.iter().map(|n| normalise(n)).collect();
        let position = |wanted: &str| {
            let wanted = normalise(wanted);
            normalised.iter().position(|n| *n == wanted)
        };
        let signup = match signup {
            Some(index) => vec![(index, true)],
            None => {
                let mut found: Vec<(usize, bool)> = Vec::new();
                for name in SIGNUP_NAMES {
                    if let Some(index) = position(name.name)
                        && !found.iter().any(|(i, _)| *i == index)
                    {
                        found.push((index, name.consent));
                    }
                }
                found
            }
        };
        let status = STATUS_NAMES
            .iter()
            .filter_map(|(name, says)| {
                position(name).map(|index| StatusColumn { index, says: *says })
            })
            .collect();
        let consent = CONSENT_NAMES
            .iter()
            .filter_map(|(name, kind)| {
                position(name).map(|index| ConsentColumn { index, kind: *kind })
            })
            .collect();
        ContactColumns {
            names,
            signup,
            status,
            consent,
        }
    }

    /// The header's name of column `index` (empty if there is none).
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }

    /// The signup date columns, most preferred first.
    pub fn signup_columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.signup.iter().map(|(i, _)| *i)
    }

    /// Returns true if and only if the header has a vendor status column.
    pub fn has_status(&self) -> bool {
        !self.status.is_empty()
    }

    /// The vendor status columns' names.
    pub fn status_names(&self) -> Vec<&str> {
        self.status.iter().map(|c| self.name(c.index)).collect()
    }

    /// The first status column of the row whose cell stops mail; `cell(i)` gives column `i`.
    pub fn status<'a>(&self, cell: impl Fn(usize) -> &'a str) -> Option<StatusHit> {
        self.status.iter().find_map(|c| {
            let value = cell(c.index).trim();
            if value.is_empty() {
                return None;
            }
            let reason = match c.says {
                Says::AnyValue(reason) => Some(reason),
                Says::WhenTrue(reason) => truthy(value).then_some(reason),
                Says::Values(values) => values
                    .iter()
                    .find(|(v, _)| v.eq_ignore_ascii_case(value))
                    .map(|(_, r)| *r),
            }?;
            Some(StatusHit {
                column: c.index,
                reason,
            })
        })
    }

    /// The row's consent evidence: the first consent column with a value decides; else an
    /// opt-in date (the first signup column with a value, when it is an opt-in date column).
    pub fn consent<'a>(&self, cell: impl Fn(usize) -> &'a str) -> ConsentEvidence {
        let signup = self
            .signup
            .iter()
            .map(|(index, _)| *index)
            .find(|&index| !cell(index).trim().is_empty());
        self.consent_after_signup(cell, signup)
    }

    /// [`ContactColumns::consent`] when the row's first signup column with a value is known
    /// (`signup`), so that the signup cells are not looked at again.
    pub fn consent_after_signup<'a>(
        &self,
        cell: impl Fn(usize) -> &'a str,
        signup: Option<usize>,
    ) -> ConsentEvidence {
        for c in &self.consent {
            let value = cell(c.index).trim();
            if value.is_empty() {
                continue;
            }
            let yes = match c.kind {
                Consent::YesNo if truthy(value) => true,
                Consent::YesNo if falsy(value) => false,
                Consent::YesNo => continue,
                Consent::Klaviyo => value.eq_ignore_ascii_case("subscribed"),
            };
            return if yes {
                ConsentEvidence::Column(c.index)
            } else {
                ConsentEvidence::Negative(c.index)
            };
        }
        match signup.and_then(|index| self.signup.iter().find(|(i, _)| *i == index)) {
            Some(&(index, true)) => ConsentEvidence::OptInDate(index),
            _ => ConsentEvidence::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(cells: &'a [&'a str]) -> impl Fn(usize) -> &'a str {
        move |i| cells.get(i).copied().unwrap_or("")
    }

    // See: #10 part 5
    #[test]
    fn signup_columns_are_every_known_one_in_order_of_preference() {
        let header = [
            "Email Address",
            "CONFIRM_TIME",
            "OPTIN_TIME",
            "LAST_CHANGED",
        ];
        let plan = ContactColumns::find(&header, None);
        assert_eq!(plan.signup_columns().collect::<Vec<_>>(), [2, 1]);
        let plan = ContactColumns::find(&["Email", "Create Date"], None);
        assert_eq!(plan.signup_columns().collect::<Vec<_>>(), [1]);
        let plan = ContactColumns::find(&["email", "Created At"], None);
        assert_eq!(plan.signup_columns().collect::<Vec<_>>(), [1]);
        let plan = ContactColumns::find(&["email", "Signup-Date"], None);
        assert_eq!(plan.signup_columns().collect::<Vec<_>>(), [1]);
        let plan = ContactColumns::find(&["email", "name"], None);
        assert_eq!(plan.signup_columns().count(), 0);
        let plan = ContactColumns::find(&["Email", "Create Date"], Some(0));
        assert_eq!(plan.signup_columns().collect::<Vec<_>>(), [0]);
    }

    // See: #10 parts 6 and 7
    #[test]
    fn status_and_consent_cells_are_read_per_column_kind() {
        let header = [
            "Email",
            "Accepts Email Marketing",
            "UNSUB_TIME",
            "OPTIN_TIME",
        ];
        let plan = ContactColumns::find(&header, None);
        let hit = plan.status(row(&["a@b.c", "yes", "2024-01-01 10:00:00", ""]));
        assert_eq!(
            hit,
            Some(StatusHit {
                column: 2,
                reason: Reason::Unsubscribed
            })
        );
        assert_eq!(plan.status(row(&["a@b.c", "no", " ", ""])), None);
        assert_eq!(
            plan.consent(row(&["a@b.c", "no", "", "2024-01-01"])),
            ConsentEvidence::Negative(1)
        );
        assert_eq!(
            plan.consent(row(&["a@b.c", "", "", "2024-01-01"])),
            ConsentEvidence::OptInDate(3)
        );
        assert_eq!(
            plan.consent(row(&["a@b.c", "", "", ""])),
            ConsentEvidence::None
        );
        let klaviyo = ContactColumns::find(&["Email", "Email Marketing Consent"], None);
        for (value, status, consent) in [
            ("SUBSCRIBED", None, ConsentEvidence::Column(1)),
            (
                "UNSUBSCRIBED",
                Some(Reason::Unsubscribed),
                ConsentEvidence::Negative(1),
            ),
            (
                "SUPPRESSED",
                Some(Reason::SuppressionList),
                ConsentEvidence::Negative(1),
            ),
            ("NEVER_SUBSCRIBED", None, ConsentEvidence::Negative(1)),
        ] {
            let cells = ["x", value];
            assert_eq!(
                klaviyo.status(row(&cells)).map(|h| h.reason),
                status,
                "{value}"
            );
            assert_eq!(klaviyo.consent(row(&cells)), consent, "{value}");
        }
        let hubspot = ContactColumns::find(&["Email", "Unsubscribed from all email"], None);
        assert!(hubspot.status(row(&["x", "true"])).is_some());
        assert!(hubspot.status(row(&["x", "false"])).is_none());
        let created = ContactColumns::find(&["Email", "Create Date"], None);
        assert_eq!(
            created.consent(row(&["x", "2024-01-01"])),
            ConsentEvidence::None
        );
    }
}
