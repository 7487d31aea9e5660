//! Cell parsers for event logs: event names (with ESP synonyms), timestamps and booleans.
//!
//! Pure functions on one cell; the polars reader ([`super::read`]) maps them over columns.

/// An event as the rules see it. The discriminants are what the polars plan stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Event {
    /// Handed to the ESP (`sent`, `processed`, `accepted`, `queued`, …).
    Sent = 0,
    /// Accepted by the receiving server.
    Delivered = 1,
    /// An open (human or machine: see the `machine` column).
    Open = 2,
    /// A click (human, machine or link scanner).
    Click = 3,
    /// A permanent failure.
    HardBounce = 4,
    /// A temporary failure.
    SoftBounce = 5,
    /// A spam complaint.
    Complaint = 6,
    /// An unsubscribe.
    Unsubscribe = 7,
    /// A known event that no rule uses (`dropped`, `deferred`, …).
    Ignored = 8,
    /// Not an event name listwash knows.
    Unknown = 9,
    /// A bounce of the sender (policy, reputation, content): never counts against the
    /// recipient.
    SenderBlock = 10,
    /// The service itself refused to send (a suppressed address: SendGrid `dropped`, Mailgun
    /// `suppress-*`, Brevo `blocked`): neither a send nor a bounce.
    Dropped = 11,
}

/// What an event name means before its other cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The event, whatever the other cells say.
    Fixed(Event),
    /// `bounce`, `bounced`, `failed`: hard unless the type or diagnostic column says otherwise.
    Bounce,
    /// A bounce the name calls hard (`hard_bounce`): a diagnostic code can still say otherwise.
    HardBounce,
    /// A bounce the name calls soft (`soft_bounce`).
    SoftBounce,
    /// An open by a machine (a privacy proxy: Brevo `proxy_open`).
    MachineOpen,
}

/// Lower-cases `raw` (ASCII), trims it and folds `-` and spaces to `_` into `buffer`.
/// Returns `None` when it does not fit (no event name is that long).
pub(crate) fn fold<'b>(raw: &str, buffer: &'b mut [u8; 48]) -> Option<&'b [u8]> {
    let raw = raw.trim().as_bytes();
    if raw.len() > buffer.len() {
        return None;
    }
    for (slot, byte) in buffer.iter_mut().zip(raw) {
        *slot = match byte {
            b'-' | b' ' => b'_',
            other => other.to_ascii_lowercase(),
        };
    }
    Some(&buffer[..raw.len()])
}

/// The meaning of a folded event name in every service's vocabulary (the names no two
/// services use differently; see [`super::dialect`] for the others).
pub(crate) fn kind(name: &[u8]) -> Option<Kind> {
    use Event::*;
    let event = match name {
        b"sent" | b"send" | b"processed" | b"accepted" | b"queued" | b"injected" | b"injection"
        | b"request" => Sent,
        b"delivered" | b"delivery" | b"received_email" => Delivered,
        b"open" | b"opened" | b"opens" | b"unique_open" | b"unique_opened" | b"uniqueopened"
        | b"first_opening" | b"initial_open" | b"amp_open" | b"amp_initial_open"
        | b"opened_email" => Open,
        b"click" | b"clicked" | b"clicks" | b"unique_click" | b"amp_click" | b"clicked_email" => {
            Click
        }
        b"hard_bounce" | b"hardbounce" | b"hard_bounced" | b"hard" => {
            return Some(Kind::HardBounce);
        }
        b"soft_bounce" | b"softbounce" | b"soft_bounced" | b"soft" => {
            return Some(Kind::SoftBounce);
        }
        b"complaint"
        | b"complained"
        | b"spamreport"
        | b"spam_report"
        | b"spam_complaint"
        | b"spamcomplaint"
        | b"abuse"
        | b"spam"
        | b"marked_email_as_spam" => Complaint,
        b"unsubscribe"
        | b"unsubscribed"
        | b"group_unsubscribe"
        | b"unsub"
        | b"opt_out"
        | b"optout"
        | b"opted_out"
        | b"list_unsubscribe"
        | b"link_unsubscribe"
        | b"unsubscribed_from_email_marketing"
        | b"unsubscribed_from_list" => Unsubscribe,
        b"dropped"
        | b"dropped_email"
        | b"rejected"
        | b"reject"
        | b"blocked"
        | b"invalid"
        | b"invalid_email"
        | b"policy_rejection"
        | b"generation_failure"
        | b"generation_rejection"
        | b"rendering_failure"
        | b"renderingfailure" => Dropped,
        b"deferred" | b"delayed" | b"deliverydelay" | b"delivery_delay" | b"delay"
        | b"group_resubscribe" | b"resubscribe" | b"stored" | b"error" => Ignored,
        b"proxy_open" | b"unique_proxy_open" | b"machine_open" => return Some(Kind::MachineOpen),
        b"bounce" | b"bounced" | b"failed" | b"bounced_email" | b"out_of_band" => {
            return Some(Kind::Bounce);
        }
        _ => return None,
    };
    Some(Kind::Fixed(event))
}

/// Parses a `machine` cell: true/false, 1/0, yes/no (any case). Anything else is unknown.
pub(crate) fn boolean(raw: &str) -> Option<bool> {
    let mut buffer = [0u8; 48];
    match fold(raw, &mut buffer)? {
        b"true" | b"1" | b"yes" | b"y" | b"t" => Some(true),
        b"false" | b"0" | b"no" | b"n" | b"f" => Some(false),
        _ => None,
    }
}

/// Unix seconds from a Unix time of unknown unit, told apart by magnitude: below 10^11 it is
/// seconds (10^11 s is the year 5138), below 10^14 milliseconds, below 10^17 microseconds,
/// else nanoseconds.
pub(crate) fn unix_seconds(value: i64) -> i64 {
    match value.unsigned_abs() {
        0..100_000_000_000 => value,
        100_000_000_000..100_000_000_000_000 => value.div_euclid(1_000),
        100_000_000_000_000..100_000_000_000_000_000 => value.div_euclid(1_000_000),
        _ => value.div_euclid(1_000_000_000),
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day == 0 || day > month_days[month as usize - 1] {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Reads exactly `n` ASCII digits at `*at`.
fn digits(bytes: &[u8], at: &mut usize, n: usize) -> Option<u32> {
    let slice = bytes.get(*at..*at + n)?;
    let mut value = 0u32;
    for byte in slice {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(byte - b'0');
    }
    *at += n;
    Some(value)
}

/// Parses a timestamp cell to Unix seconds (UTC).
///
/// Accepts ISO-8601 dates (`2024-03-02`), date-times with `T` or a space, optional seconds and
/// fraction, and an optional offset (`Z`, `+02:00`, `+0200`, `+02`, ` UTC`; none means UTC), and
/// Unix times (integers or decimals; the unit by magnitude, see [`unix_seconds`]).
pub(crate) fn timestamp(raw: &str) -> Option<i64> {
    let text = raw.trim();
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if first.is_ascii_digit() && bytes.get(4) != Some(&b'-') || first == b'-' {
        return unix_text(text);
    }
    let mut at = 0;
    let year = digits(bytes, &mut at, 4)?;
    let sep =
        |at: &mut usize, c: u8| -> Option<()> { (bytes.get(*at) == Some(&c)).then(|| *at += 1) };
    sep(&mut at, b'-')?;
    let month = digits(bytes, &mut at, 2)?;
    sep(&mut at, b'-')?;
    let day = digits(bytes, &mut at, 2)?;
    let days = days_from_civil(i64::from(year), month, day)?;
    let mut seconds = 0i64;
    if at < bytes.len()
        && matches!(bytes[at], b'T' | b't' | b' ')
        && bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
    {
        at += 1;
        let hour = digits(bytes, &mut at, 2)?;
        sep(&mut at, b':')?;
        let minute = digits(bytes, &mut at, 2)?;
        let second = if sep(&mut at, b':').is_some() {
            digits(bytes, &mut at, 2)?
        } else {
            0
        };
        if hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute, second) != (0, 0)) {
            return None;
        }
        if matches!(bytes.get(at), Some(b'.' | b',')) {
            at += 1;
            let start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return None;
            }
        }
        seconds = i64::from(hour * 3600 + minute * 60 + second);
    }
    let offset = match &text[at..] {
        "" | "Z" | "z" | " UTC" | " utc" | "UTC" | " Z" | " GMT" => 0,
        rest => {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let tail = &rest.as_bytes()[1..];
            let mut at = 0;
            let hours = digits(tail, &mut at, 2)?;
            if tail.get(at) == Some(&b':') {
                at += 1;
            }
            let minutes = if at < tail.len() {
                digits(tail, &mut at, 2)?
            } else {
                0
            };
            if at != tail.len() || hours > 23 || minutes > 59 {
                return None;
            }
            sign * i64::from(hours * 3600 + minutes * 60)
        }
    };
    Some(days * 86_400 + seconds - offset)
}

/// A Unix time written as a number (`1709337600`, `1709337600123`, `1709337600.5`).
fn unix_text(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    whole.parse::<i64>().ok().map(unix_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_form() {
        let day = 1_709_337_600; // 2024-03-02T00:00:00Z
        assert_eq!(timestamp("2024-03-02"), Some(day));
        assert_eq!(timestamp("2024-03-02T10:20:30"), Some(day + 37_230));
        assert_eq!(timestamp("2024-03-02 10:20:30"), Some(day + 37_230));
        assert_eq!(timestamp("2024-03-02T10:20"), Some(day + 37_200));
        assert_eq!(timestamp("2024-03-02T10:20:30Z"), Some(day + 37_230));
        assert_eq!(timestamp("2024-03-02T10:20:30.123456Z"), Some(day + 37_230));
        assert_eq!(
            timestamp("2024-03-02T10:20:30+02:00"),
            Some(day + 37_230 - 7_200)
        );
        assert_eq!(
            timestamp("2024-03-02T01:00:00-0230"),
            Some(day + 3_600 + 9_000)
        );
        assert_eq!(timestamp("2024-03-02 10:20:30 UTC"), Some(day + 37_230));
        assert_eq!(timestamp("1709337600"), Some(day));
        assert_eq!(timestamp("1709337600123"), Some(day));
        assert_eq!(timestamp("1709337600.75"), Some(day));
        assert_eq!(timestamp("1709337600123456"), Some(day));
        for bad in [
            "",
            "yesterday",
            "2024-02-30",
            "2024-13-01",
            "2024-03-02T25:00",
            "2024-03-02X",
            "12ab",
            "2024-03-02T10:20:30+2",
        ] {
            assert_eq!(timestamp(bad), None, "{bad}");
        }
        assert_eq!(timestamp("2000-02-29"), Some(951_782_400));
        assert_eq!(timestamp("1969-12-31"), Some(-86_400));
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("TRUE"), Some(true));
        assert_eq!(boolean("1"), Some(true));
        assert_eq!(boolean("yes"), Some(true));
        assert_eq!(boolean("false"), Some(false));
        assert_eq!(boolean("0"), Some(false));
        assert_eq!(boolean("No"), Some(false));
        assert_eq!(boolean(""), None);
        assert_eq!(boolean("maybe"), None);
    }
}
