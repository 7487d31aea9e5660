//! Email services' dialects of event logs: which service wrote a log, and what its event
//! names, bounce labels and diagnostics mean in listwash's kinds.
//!
//! Consumes a log's header names (CSV, Parquet) or first record (JSON), and per event the
//! event name, the service's bounce label and the SMTP diagnostic; produces a [`Dialect`]
//! and a [`Classified`] event (kind, bounce code, whether the code overrode the label).
//! The rules file's `[engagement.event_names]` come first. Never sees an address.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::bounce::{self, BounceClass, Code};
use super::parse::{self, Event, Kind};

/// The service that wrote a log (named per file in `report.json`; `--events-format`
/// overrides the detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// listwash's own columns (`email`, `event`, `timestamp`, `machine`), or any log whose
    /// service is not recognised.
    Generic,
    /// SendGrid: Event Webhook JSON, its CSV flattening, the Email Activity export.
    Sendgrid,
    /// Mailgun: Events API items and webhook `event-data`.
    Mailgun,
    /// Amazon SES: event publishing records and SNS notifications.
    Ses,
    /// Postmark webhooks (`RecordType`).
    Postmark,
    /// Mailjet Event API.
    Mailjet,
    /// Mailchimp email activity (export or API).
    Mailchimp,
    /// Klaviyo metric events.
    Klaviyo,
    /// Brevo (Sendinblue) webhooks and logs.
    Brevo,
    /// SparkPost webhooks (`msys`).
    Sparkpost,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Dialect; 10] = [
        Dialect::Generic,
        Dialect::Sendgrid,
        Dialect::Mailgun,
        Dialect::Ses,
        Dialect::Postmark,
        Dialect::Mailjet,
        Dialect::Mailchimp,
        Dialect::Klaviyo,
        Dialect::Brevo,
        Dialect::Sparkpost,
    ];

    /// The dialect's name (`--events-format` and `report.json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Generic => "generic",
            Dialect::Sendgrid => "sendgrid",
            Dialect::Mailgun => "mailgun",
            Dialect::Ses => "ses",
            Dialect::Postmark => "postmark",
            Dialect::Mailjet => "mailjet",
            Dialect::Mailchimp => "mailchimp",
            Dialect::Klaviyo => "klaviyo",
            Dialect::Brevo => "brevo",
            Dialect::Sparkpost => "sparkpost",
        }
    }

    /// The dialect of a name, as `--events-format` takes it.
    pub fn from_name(name: &str) -> Option<Dialect> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The dialect of a CSV or Parquet header (names as given).
    pub(crate) fn from_header<S: AsRef<str>>(names: &[S]) -> Dialect {
        let names: Vec<String> = names
            .iter()
            .map(|n| crate::columns::normalise(n.as_ref()))
            .collect();
        let has = |wanted: &str| names.iter().any(|n| n == wanted);
        if has("sg_event_id") || has("sg_message_id") || has("sg_machine_open") {
            Dialect::Sendgrid
        } else if has("recordtype") {
            Dialect::Postmark
        } else if has("mj_campaign_id") || has("mj_message_id") || has("hard_bounce") {
            Dialect::Mailjet
        } else if has("bounce_class") || has("rcpt_to") {
            Dialect::Sparkpost
        } else if has("apple_privacy_open") || has("metric") || has("metric_name") {
            Dialect::Klaviyo
        } else if has("action") && has("email_address") {
            Dialect::Mailchimp
        } else if has("ts_event") || has("message_id") && has("tag") {
            Dialect::Brevo
        } else if has("severity") || has("delivery_status_code") {
            Dialect::Mailgun
        } else if has("eventtype") || has("notificationtype") {
            Dialect::Ses
        } else {
            Dialect::Generic
        }
    }

    /// The dialect of a JSON record (after unwrapping an SNS notification or a Mailgun
    /// webhook's `event-data`).
    pub(crate) fn from_record(record: &Value) -> Dialect {
        Dialect::from_json_keys(|key| record.get(key).is_some())
    }

    /// The dialect of a JSON log whose first record does not fit in its head (a pretty-printed
    /// document): the keys quoted in the text.
    pub(crate) fn from_text(text: &[u8]) -> Dialect {
        Dialect::from_json_keys(|key| {
            memchr::memmem::find(text, format!("\"{key}\"").as_bytes()).is_some()
        })
    }

    /// The dialect of JSON whose keys `has` tells, the most distinctive keys first (a
    /// Mailgun page's headers hold `message-id` too, so Mailgun is settled before Brevo).
    fn from_json_keys(has: impl Fn(&str) -> bool) -> Dialect {
        if has("eventType") || has("notificationType") {
            Dialect::Ses
        } else if has("msys") {
            Dialect::Sparkpost
        } else if has("RecordType") {
            Dialect::Postmark
        } else if has("sg_event_id") || has("sg_message_id") || has("sg_machine_open") {
            Dialect::Sendgrid
        } else if has("mj_campaign_id") || has("mj_message_id") || has("MessageID") && has("time") {
            Dialect::Mailjet
        } else if has("log-level")
            || has("delivery-status")
            || has("recipient-domain")
            || has("event-data")
        {
            Dialect::Mailgun
        } else if has("email_address") && has("activity") {
            Dialect::Mailchimp
        } else if has("ts_event") || has("message-id") {
            Dialect::Brevo
        } else {
            Dialect::Generic
        }
    }
}

/// One event as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classified {
    /// The event.
    pub(crate) event: Event,
    /// The SMTP code a bounce's class rests on (0: none).
    pub(crate) code: Code,
    /// A bounce whose code contradicted the service's hard/soft label.
    pub(crate) overridden: bool,
    /// The event name says a machine did it (`proxy_open`).
    pub(crate) machine: bool,
}

impl Classified {
    fn plain(event: Event) -> Classified {
        Classified {
            event,
            code: 0,
            overridden: false,
            machine: false,
        }
    }
}

/// What a service's bounce label says.
fn label_class(dialect: Dialect, label: &str) -> Option<Result<BounceClass, Event>> {
    let mut buffer = [0u8; 48];
    let folded = parse::fold(label, &mut buffer)?;
    if dialect == Dialect::Sparkpost
        && let Ok(class) = label.trim().parse::<u32>()
    {
        // SparkPost's bounce classification codes.
        return match class {
            10 | 30 => Some(Ok(BounceClass::Hard)),
            90 => Some(Err(Event::Unsubscribe)),
            20..=24 | 40 | 70 | 100 => Some(Ok(BounceClass::Soft)),
            25 => Some(Err(Event::Dropped)),
            50..=54 => Some(Ok(BounceClass::Sender)),
            60 | 80 => Some(Err(Event::Ignored)),
            _ => None,
        };
    }
    use BounceClass::*;
    Some(match folded {
        b"hard" | b"permanent" | b"bounce" | b"hard_bounce" | b"hardbounce" | b"hard_bounced"
        | b"true" | b"bademailaddress" => Ok(Hard),
        b"soft" | b"temporary" | b"transient" | b"soft_bounce" | b"softbounce" | b"false"
        | b"dnserror" | b"autoresponder" => Ok(Soft),
        b"blocked" | b"block" | b"spamnotification" | b"dmarcpolicy" | b"virusnotification" => {
            Ok(Sender)
        }
        b"spamcomplaint" => Err(Event::Complaint),
        b"unsubscribe" => Err(Event::Unsubscribe),
        b"manuallydeactivated" | b"unconfirmed" | b"smtpapierror" | b"inbounderror" => {
            Err(Event::Dropped)
        }
        b"undetermined" | b"unknown" | b"" => return None,
        _ => return Some(Err(Event::Unknown)),
    })
}

/// The event of a bounce class.
fn bounce_event(class: BounceClass) -> Event {
    match class {
        BounceClass::Hard => Event::HardBounce,
        BounceClass::Soft => Event::SoftBounce,
        BounceClass::Sender => Event::SenderBlock,
    }
}

/// A log's vocabulary: its dialect and the rules file's own event names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    dialect: Option<Dialect>,
    names: HashMap<Vec<u8>, Kind>,
    /// Keep every usable row with its normalised address (see `super::keep`; issue 14).
    pub(super) keep: bool,
}

/// The kinds `[engagement.event_names]` maps names to.
pub const EVENT_KINDS: [&str; 12] = [
    "sent",
    "delivered",
    "open",
    "machine_open",
    "click",
    "bounce",
    "hard_bounce",
    "soft_bounce",
    "complaint",
    "unsubscribe",
    "dropped",
    "ignore",
];

/// The kind of a name of [`EVENT_KINDS`].
pub(crate) fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "sent" => Kind::Fixed(Event::Sent),
        "delivered" => Kind::Fixed(Event::Delivered),
        "open" => Kind::Fixed(Event::Open),
        "machine_open" => Kind::MachineOpen,
        "click" => Kind::Fixed(Event::Click),
        "bounce" => Kind::Bounce,
        "hard_bounce" => Kind::HardBounce,
        "soft_bounce" => Kind::SoftBounce,
        "complaint" => Kind::Fixed(Event::Complaint),
        "unsubscribe" => Kind::Fixed(Event::Unsubscribe),
        "dropped" => Kind::Fixed(Event::Dropped),
        "ignore" => Kind::Fixed(Event::Ignored),
        _ => return None,
    })
}

impl Vocabulary {
    /// The vocabulary of `dialect` with the rules file's `names` (service name → kind of
    /// [`EVENT_KINDS`]; unknown kinds were refused when the rules were read).
    pub(crate) fn new(
        dialect: Dialect,
        names: &std::collections::BTreeMap<String, String>,
    ) -> Self {
        let names = names
            .iter()
            .filter_map(|(name, kind)| {
                let mut buffer = [0u8; 48];
                let folded = parse::fold(name, &mut buffer)?.to_vec();
                Some((folded, kind_of(kind)?))
            })
            .collect();
        Vocabulary {
            dialect: Some(dialect),
            names,
            keep: false,
        }
    }

    /// The log's dialect.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect.unwrap_or(Dialect::Generic)
    }

    /// Classifies one event: its name, the service's bounce label (`type`, `severity`,
    /// `bounceType`, `hard_bounce`, `bounce_class`, …) and the SMTP diagnostic (`status`,
    /// `diagnosticCode`, `reason`, …). The diagnostic's code beats the label.
    pub(crate) fn classify(
        &self,
        name: &str,
        label: Option<&str>,
        detail: Option<&str>,
    ) -> Classified {
        let dialect = self.dialect();
        let mut buffer = [0u8; 48];
        let Some(folded) = parse::fold(name, &mut buffer) else {
            return Classified::plain(Event::Unknown);
        };
        let named = if self.names.is_empty() {
            None
        } else {
            self.names.get(folded)
        };
        let kind = match named {
            Some(kind) => Some(*kind),
            // Mailjet's `sent`: accepted by the receiving server.
            None if dialect == Dialect::Mailjet && folded == b"sent" => {
                Some(Kind::Fixed(Event::Delivered))
            }
            None => parse::kind(folded),
        };
        let default = match kind {
            None => return Classified::plain(Event::Unknown),
            Some(Kind::Fixed(event)) => return Classified::plain(event),
            Some(Kind::MachineOpen) => {
                return Classified {
                    machine: true,
                    ..Classified::plain(Event::Open)
                };
            }
            Some(Kind::HardBounce) => Some(BounceClass::Hard),
            Some(Kind::SoftBounce) => Some(BounceClass::Soft),
            Some(Kind::Bounce) => None,
        };
        // The service refusing to send to a suppressed address (Mailgun `suppress-bounce`,
        // `suppress-complaint`, `suppress-unsubscribe`).
        if detail.is_some_and(|d| d.trim_start().starts_with("suppress-")) {
            return Classified::plain(Event::Dropped);
        }
        let labelled = match label.map(|l| label_class(dialect, l)) {
            Some(Some(Err(event))) if default.is_none() => return Classified::plain(event),
            Some(Some(Ok(class))) if default.is_none() => Some(class),
            _ => default,
        };
        let diagnosis = detail.and_then(bounce::classify);
        match (labelled, diagnosis) {
            (_, Some(found)) => Classified {
                event: bounce_event(found.class),
                code: found.code,
                overridden: labelled.is_some_and(|l| l != found.class),
                machine: false,
            },
            (Some(class), None) => Classified::plain(bounce_event(class)),
            // A bare `bounce` with no type: hard, as listwash always read it.
            (None, None) if label.is_none_or(|l| l.trim().is_empty()) => {
                Classified::plain(Event::HardBounce)
            }
            (None, None) => Classified::plain(match label.map(|l| label_class(dialect, l)) {
                Some(None) => Event::HardBounce,
                _ => Event::Unknown,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic() -> Vocabulary {
        Vocabulary::new(Dialect::Generic, &Default::default())
    }

    #[test]
    fn event_synonyms() {
        use Event::*;
        let cases = [
            ("sent", Sent),
            ("processed", Sent),
            ("Accepted", Sent),
            ("queued", Sent),
            ("delivered", Delivered),
            ("open", Open),
            ("opened", Open),
            (" Click ", Click),
            ("clicked", Click),
            ("hard_bounce", HardBounce),
            ("hardbounce", HardBounce),
            ("Hard-Bounce", HardBounce),
            ("soft_bounce", SoftBounce),
            ("softbounce", SoftBounce),
            ("complaint", Complaint),
            ("spamreport", Complaint),
            ("spam_report", Complaint),
            ("abuse", Complaint),
            ("complained", Complaint),
            ("unsubscribe", Unsubscribe),
            ("unsubscribed", Unsubscribe),
            ("group_unsubscribe", Unsubscribe),
            ("dropped", Dropped),
            ("deferred", Ignored),
            ("bounce", HardBounce),
            ("Opened Email", Open),
            ("Marked Email as Spam", Complaint),
            ("bogus", Unknown),
            ("", Unknown),
        ];
        let v = generic();
        for (raw, expected) in cases {
            assert_eq!(v.classify(raw, None, None).event, expected, "{raw}");
        }
        let e = |name, label| v.classify(name, Some(label), None).event;
        assert_eq!(e("bounce", "blocked"), SenderBlock);
        assert_eq!(e("bounce", "bounce"), HardBounce);
        assert_eq!(e("failed", "permanent"), HardBounce);
        assert_eq!(e("failed", "temporary"), SoftBounce);
        assert_eq!(e("bounced", "Soft"), SoftBounce);
        assert_eq!(e("bounced", ""), HardBounce);
        assert_eq!(e("bounce", "what"), Unknown);
        assert_eq!(e("open", "whatever"), Open);
        assert!(v.classify("proxy_open", None, None).machine);
    }

    // See: #11 part 2
    #[test]
    fn vendor_semantics() {
        let mailjet = Vocabulary::new(Dialect::Mailjet, &Default::default());
        assert_eq!(mailjet.classify("sent", None, None).event, Event::Delivered);
        assert_eq!(
            mailjet.classify("bounce", Some("false"), None).event,
            Event::SoftBounce
        );
        assert_eq!(generic().classify("sent", None, None).event, Event::Sent);
        let mailgun = Vocabulary::new(Dialect::Mailgun, &Default::default());
        assert_eq!(
            mailgun
                .classify("failed", Some("permanent"), Some("suppress-complaint"))
                .event,
            Event::Dropped
        );
        let sparkpost = Vocabulary::new(Dialect::Sparkpost, &Default::default());
        assert_eq!(
            sparkpost.classify("bounce", Some("10"), None).event,
            Event::HardBounce
        );
        assert_eq!(
            sparkpost.classify("bounce", Some("51"), None).event,
            Event::SenderBlock
        );
    }

    // See: #11 part 4
    #[test]
    fn the_code_beats_the_label_and_says_so() {
        let v = generic();
        let c = v.classify("hard_bounce", None, Some("552 5.2.2 mailbox full"));
        assert_eq!((c.event, c.overridden), (Event::SoftBounce, true));
        assert_eq!(bounce::code_text(c.code).as_deref(), Some("5.2.2"));
        let c = v.classify("bounce", Some("permanent"), Some("5.7.1 blocked"));
        assert_eq!((c.event, c.overridden), (Event::SenderBlock, true));
        let c = v.classify("bounce", Some("permanent"), Some("5.1.1"));
        assert_eq!((c.event, c.overridden), (Event::HardBounce, false));
    }

    // See: #11 part 3
    #[test]
    fn the_rules_files_names_come_first() {
        let mut names = std::collections::BTreeMap::new();
        names.insert("Zugestellt".to_owned(), "delivered".to_owned());
        names.insert("open".to_owned(), "machine_open".to_owned());
        let v = Vocabulary::new(Dialect::Generic, &names);
        assert_eq!(v.classify("zugestellt", None, None).event, Event::Delivered);
        assert!(v.classify("open", None, None).machine);
    }
}
