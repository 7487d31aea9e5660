//! Bounce classification by SMTP status: RFC 3463 enhanced codes, RFC 5321 reply codes, and
//! the reply text when no code decides.
//!
//! Consumes one diagnostic cell (`550 5.1.1 <…>: user unknown`, `5.2.2`, `smtp; 554 …
//! blocked`, …) and a service's own hard/soft label; produces a [`BounceClass`] and the code it
//! rests on. Hard only when the mailbox or domain does not exist; a full mailbox and every
//! `4.x.x` are soft; policy, reputation and content blocks are sender-side and never count
//! against the recipient. Never keeps the text: only the numeric code survives.

/// The class of a bounce in the normalised event table (`bounce_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BounceClass {
    /// The mailbox or domain does not exist.
    Hard,
    /// A temporary or recipient-side condition (mailbox full, greylisting, `4.x.x`).
    Soft,
    /// A block of the sender (policy, reputation, content, authentication): never counts
    /// against the recipient.
    Sender,
}

impl BounceClass {
    /// The class's name: `hard`, `soft` or `sender`.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceClass::Hard => "hard",
            BounceClass::Soft => "soft",
            BounceClass::Sender => "sender",
        }
    }
}

/// An SMTP code packed in a `u32` (0: none): enhanced codes `class.subject.detail` set
/// [`ENHANCED`], reply codes set [`REPLY`].
pub(crate) type Code = u32;

const ENHANCED: u32 = 1 << 31;
const REPLY: u32 = 1 << 30;

/// The code as written: `5.1.1`, `550`, or nothing.
pub(crate) fn code_text(code: Code) -> Option<String> {
    if code & ENHANCED != 0 {
        let c = code & !ENHANCED;
        Some(format!("{}.{}.{}", c >> 20, (c >> 10) & 0x3ff, c & 0x3ff))
    } else if code & REPLY != 0 {
        Some((code & !REPLY).to_string())
    } else {
        None
    }
}

/// The verdict on a diagnostic: its class and the code it rests on (0: the text decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Diagnosis {
    pub(crate) class: BounceClass,
    pub(crate) code: Code,
}

/// Reads `n`'s digits at `at` (1 to `max` of them). Returns the value and the end.
fn number(bytes: &[u8], at: usize, max: usize) -> Option<(u32, usize)> {
    let mut end = at;
    let mut value = 0u32;
    while end < bytes.len() && bytes[end].is_ascii_digit() && end - at < max {
        value = value * 10 + u32::from(bytes[end] - b'0');
        end += 1;
    }
    let boundary_ok = bytes.get(end).is_none_or(|b| !b.is_ascii_digit());
    (end > at && boundary_ok).then_some((value, end))
}

/// The first RFC 3463 enhanced status code (`[245].d{1,3}.d{1,3}`, not part of a longer
/// dotted number such as an IP address).
fn enhanced(bytes: &[u8]) -> Option<(u32, u32, u32)> {
    for at in 0..bytes.len() {
        if !matches!(bytes[at], b'2' | b'4' | b'5') {
            continue;
        }
        if at > 0 && (bytes[at - 1].is_ascii_digit() || bytes[at - 1] == b'.') {
            continue;
        }
        if bytes.get(at + 1) != Some(&b'.') {
            continue;
        }
        let Some((subject, end)) = number(bytes, at + 2, 3) else {
            continue;
        };
        if bytes.get(end) != Some(&b'.') {
            continue;
        }
        let Some((detail, end)) = number(bytes, end + 1, 3) else {
            continue;
        };
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            continue; // 5.1.1.4: a dotted number, not a status code
        }
        return Some((u32::from(bytes[at] - b'0'), subject, detail));
    }
    None
}

/// The first RFC 5321 reply code (`[245]dd` standing alone).
fn reply(bytes: &[u8]) -> Option<u32> {
    for at in 0..bytes.len() {
        if !matches!(bytes[at], b'2' | b'4' | b'5') {
            continue;
        }
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'.') {
            continue;
        }
        if let Some((value, end)) = number(bytes, at, 3)
            && end - at == 3
            && bytes.get(end) != Some(&b'.')
        {
            return Some(value);
        }
    }
    None
}

/// Phrases of a block of the sender (policy, reputation, content, authentication).
const SENDER_PHRASES: &[&str] = &[
    "blocked",
    "block list",
    "blocklist",
    "blacklist",
    "listed",
    "spam",
    "policy",
    "reputation",
    "spamhaus",
    "dmarc",
    "not authorized",
    "unauthenticated",
    "rate limit",
    "too many",
];

/// Phrases of a mailbox or domain that does not exist.
const HARD_PHRASES: &[&str] = &[
    "user unknown",
    "unknown user",
    "unknown recipient",
    "no such user",
    "no such recipient",
    "no such mailbox",
    "does not exist",
    "doesn't exist",
    "not exist",
    "mailbox not found",
    "recipient not found",
    "address not found",
    "invalid recipient",
    "invalid mailbox",
    "unrouteable address",
    "no such domain",
    "domain not found",
    "host or domain name not found",
    "host not found",
    "nxdomain",
    "bad destination",
];

/// Phrases of a temporary or recipient-side condition.
const SOFT_PHRASES: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "quota",
    "insufficient storage",
    "exceeded storage",
    "out of storage",
    "try again",
    "temporar",
    "greylist",
    "graylist",
    "timed out",
    "timeout",
];

fn by_text(lower: &str) -> Option<BounceClass> {
    let has = |phrases: &[&str]| phrases.iter().any(|p| lower.contains(p));
    if has(SENDER_PHRASES) {
        Some(BounceClass::Sender)
    } else if has(HARD_PHRASES) {
        Some(BounceClass::Hard)
    } else if has(SOFT_PHRASES) {
        Some(BounceClass::Soft)
    } else {
        None
    }
}

/// The class of an RFC 3463 code, or `None` when it decides nothing (`5.0.0`, `2.x.x`).
fn by_enhanced(class: u32, subject: u32, detail: u32) -> Option<BounceClass> {
    use BounceClass::*;
    match (class, subject, detail) {
        (4, ..) => Some(Soft),
        (5, 1, 7 | 8) => Some(Sender), // the sender's address
        (5, 1, _) => Some(Hard),       // bad destination mailbox or system (5.1.1, 5.1.2, 5.1.10)
        (5, 2, 3) => Some(Sender),     // message too long for the recipient: content
        (5, 2, _) => Some(Soft),       // mailbox status: full (5.2.2), disabled (5.2.1), …
        (5, 3, 4) => Some(Sender),     // message too big for the system
        (5, 3, _) => Some(Soft),       // mail system status
        (5, 4, 4) => Some(Hard),       // unable to route: no such domain
        (5, 4, _) => Some(Soft),       // network and routing
        (5, 5..=7, _) => Some(Sender), // protocol, content, security and policy
        _ => None,
    }
}

/// Classifies a diagnostic cell: the enhanced code first, then the reply code, then the
/// text. `None` when nothing in it decides.
pub(crate) fn classify(text: &str) -> Option<Diagnosis> {
    let bytes = text.as_bytes();
    if let Some((class, subject, detail)) = enhanced(bytes)
        && let Some(found) = by_enhanced(class, subject, detail)
    {
        return Some(Diagnosis {
            class: found,
            code: ENHANCED | class << 20 | subject.min(1023) << 10 | detail.min(1023),
        });
    }
    let lower = text.to_ascii_lowercase();
    let code = reply(bytes);
    let class = match code {
        Some(400..=499) => Some(BounceClass::Soft),
        Some(552) => Some(BounceClass::Soft), // exceeded storage allocation
        Some(500..=599) | None => by_text(&lower),
        Some(_) => None,
    }?;
    Some(Diagnosis {
        class,
        code: code.filter(|c| *c >= 400).map_or(0, |c| REPLY | c),
    })
}

#[cfg(test)]
mod tests {
    use super::BounceClass::*;
    use super::*;

    /// Diagnostic strings as the services' documentation and RFC 3463 show them.
    // See: #11 part 4
    #[test]
    fn real_diagnostics_classify_by_code_then_text() {
        let cases: &[(&str, Option<BounceClass>, Option<&str>)] = &[
            // Amazon SES bounce examples (bouncedRecipients[].diagnosticCode / status).
            ("smtp; 550 5.1.1 user unknown", Some(Hard), Some("5.1.1")),
            ("5.1.1", Some(Hard), Some("5.1.1")),
            // SendGrid bounce `status` and `reason`.
            ("500 unknown recipient", Some(Hard), Some("500")),
            ("5.0.0", None, None),
            // Mailgun delivery-status.
            (
                "550 5.1.1 The email account that you tried to reach does not exist.",
                Some(Hard),
                Some("5.1.1"),
            ),
            ("552 5.2.2 Mailbox full", Some(Soft), Some("5.2.2")),
            (
                "452 4.2.2 The email account that you tried to reach is over quota.",
                Some(Soft),
                Some("4.2.2"),
            ),
            // Gmail / Microsoft policy and reputation blocks.
            (
                "550 5.7.1 Our system has detected that this message is likely unsolicited mail.",
                Some(Sender),
                Some("5.7.1"),
            ),
            (
                "550 5.7.26 This message does not pass authentication checks",
                Some(Sender),
                Some("5.7.26"),
            ),
            (
                "554 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                Some(Sender),
                Some("554"),
            ),
            (
                "421 4.7.0 Try again later, closing connection.",
                Some(Soft),
                Some("4.7.0"),
            ),
            // RFC 3463 examples.
            (
                "5.1.2 Bad destination system address",
                Some(Hard),
                Some("5.1.2"),
            ),
            (
                "5.1.10 Recipient address has null MX",
                Some(Hard),
                Some("5.1.10"),
            ),
            ("5.4.4 Unable to route", Some(Hard), Some("5.4.4")),
            (
                "5.3.4 Message too big for system",
                Some(Sender),
                Some("5.3.4"),
            ),
            // Reply text only.
            ("Mailbox does not exist", Some(Hard), None),
            ("IP listed at a DNSBL", Some(Sender), None),
            ("mailbox is full", Some(Soft), None),
            (
                "550 Requested action not taken: mailbox unavailable",
                None,
                None,
            ),
            // An IP address is not a status code.
            ("connection to 192.168.5.250 refused", None, None),
            ("", None, None),
        ];
        for (text, class, code) in cases {
            let got = classify(text);
            assert_eq!(got.map(|d| d.class), *class, "{text}");
            assert_eq!(
                got.and_then(|d| code_text(d.code)).as_deref(),
                *code,
                "{text}"
            );
        }
    }
}
