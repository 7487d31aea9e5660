//! Columns and CSV dialects, in one place for every reader: contact files, event logs,
//! suppression lists and `bench` outcomes.
//!
//! Consumes header names and raw text; produces column indexes (from one table of known names
//! per column), the delimiter, record boundaries (`\n`, `\r\n` or `\r` outside quotes) and
//! column names fit to print in a message. Never reads a file, and never puts cell content in
//! what it returns for messages: a header that looks like data is described, not shown.

use csv_core::ReadRecordResult;

/// A column a reader looks for: what it is called in messages, and the header names it goes
/// by, most preferred first (compared after [`normalise`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known {
    /// The name messages use (`email`, `event`, …).
    pub(crate) what: &'static str,
    /// Tables of header names, searched in order.
    names: &'static [&'static [&'static str]],
}

const EMAIL_NAMES: &[&str] = &[
    "email",
    "email address",
    "e-mail",
    "email_address",
    "e-mail address",
    "emailaddress",
    "mail",
    "e_mail",
    "email-address",
    "e-mail-adresse",
    "courriel",
    "correo",
    "correo electrónico",
];

/// The address column of a contact file (and of suppression lists and outcomes).
pub(crate) const EMAIL: Known = Known {
    what: "email",
    names: &[EMAIL_NAMES],
};

/// The entry column of a CSV suppression list: an address column, or a digest column.
pub(crate) const SUPPRESSION_ENTRY: Known = Known {
    what: "email or hash",
    names: &[
        EMAIL_NAMES,
        &["hash", "md5", "sha1", "sha256", "sha-256", "address"],
    ],
};

/// The signup date column of a contact file.
pub(crate) const SIGNUP: Known = Known {
    what: "signup date",
    names: &[&[
        "signup_date",
        "signed_up_at",
        "subscribed_at",
        "subscription_date",
        "optin_time",
        "optin_date",
        "opt_in_date",
        "confirm_time",
        "confirmed_at",
        "created_at",
        "created",
        "date_added",
        "joined",
    ]],
};

/// The address column of an event log: the contact names, then the ESPs' own (SparkPost
/// `rcpt_to`).
pub(crate) const LOG_EMAIL: Known = Known {
    what: "email",
    names: &[EMAIL_NAMES, &["recipient", "address", "rcpt_to"]],
};

/// The event name column of an event log (Postmark `RecordType`, Mailchimp `action`, Klaviyo
/// `Metric`).
pub(crate) const LOG_EVENT: Known = Known {
    what: "event",
    names: &[&[
        "event",
        "event_type",
        "eventtype",
        "notificationtype",
        "recordtype",
        "action",
        "metric",
        "metric_name",
        "activity",
    ]],
};

/// The time column of an event log.
pub(crate) const LOG_TIMESTAMP: Known = Known {
    what: "timestamp",
    names: &[&[
        "timestamp",
        "time",
        "event_time",
        "occurred_at",
        "date",
        "ts_event",
        "ts",
        "datetime",
        "event_date",
        "bouncedat",
        "deliveredat",
        "receivedat",
    ]],
};

/// The optional machine-event flag of an event log (SendGrid `sg_machine_open`, Klaviyo
/// `Apple Privacy Open`).
pub(crate) const LOG_MACHINE: Known = Known {
    what: "machine",
    names: &[&[
        "machine",
        "is_machine",
        "sg_machine_open",
        "apple_privacy_open",
        "machine_open",
    ]],
};

/// The optional bounce type column of an event log: the service's hard/soft label (Mailjet
/// `hard_bounce`, SparkPost `bounce_class`, SES `bounceType`).
pub(crate) const LOG_BOUNCE_TYPE: Known = Known {
    what: "bounce_type",
    names: &[&[
        "bounce_type",
        "bouncetype",
        "severity",
        "hard_bounce",
        "bounce_class",
        "type",
    ]],
};

/// The optional SMTP diagnostic column of an event log (RFC 3463 status, reply text).
pub(crate) const LOG_BOUNCE_DETAIL: Known = Known {
    what: "diagnostic",
    names: &[&[
        "status",
        "diagnostic_code",
        "diagnosticcode",
        "delivery_status_code",
        "raw_reason",
        "reason",
        "response",
        "smtp_response",
        "error",
        "bounce_reason",
        "details",
    ]],
};

/// A header name as compared: trimmed (a byte-order mark too), lower-cased, with `_`, `-` and
/// spaces all read as `_`.
pub(crate) fn normalise(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if matches!(c, '-' | ' ') { '_' } else { c })
        .collect()
}

/// The index of the first column of `header` that goes by one of `known`'s names, trying
/// the names in order of preference.
pub(crate) fn find_known<S: AsRef<str>>(header: &[S], known: &Known) -> Option<usize> {
    let names: Vec<String> = header.iter().map(|n| normalise(n.as_ref())).collect();
    known
        .names
        .iter()
        .flat_map(|table| table.iter())
        .find_map(|wanted| {
            let wanted = normalise(wanted);
            names.iter().position(|n| *n == wanted)
        })
}

/// The index of the column named `wanted` (a user's `--…-column NAME`): exactly, else after
/// [`normalise`].
pub(crate) fn find_named<S: AsRef<str>>(header: &[S], wanted: &str) -> Option<usize> {
    header
        .iter()
        .position(|n| n.as_ref() == wanted)
        .or_else(|| {
            let wanted = normalise(wanted);
            header.iter().position(|n| normalise(n.as_ref()) == wanted)
        })
}

/// The delimiter (`,` `;` tab `|`) that splits the first line of `text` into the most fields
/// (quotes respected; `,` when none splits it).
pub(crate) fn sniff_delimiter(text: &[u8]) -> u8 {
    let end = memchr::memchr2(b'\n', b'\r', text).unwrap_or(text.len());
    let first_line = &text[..end];
    let mut best = (b',', 0usize);
    for candidate in [b',', b';', b'\t', b'|'] {
        let fields = header_record(first_line, candidate).map_or(0, |(record, _)| record.len());
        if fields > best.1 {
            best = (candidate, fields);
        }
    }
    best.0
}

/// Parses the first record of `text` (a header) as the `csv` crate does: leading blank lines
/// and a UTF-8 byte-order mark skipped, quotes, any line end. Returns its fields and the bytes
/// of `text` it took, or `None` when `text` holds no record.
pub(crate) fn header_record(text: &[u8], delimiter: u8) -> Option<(csv::ByteRecord, usize)> {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut fields = vec![0u8; text.len() + 1];
    let mut ends = vec![0usize; 64];
    let (mut pos, mut out, mut nends) = (0, 0, 0);
    loop {
        let (result, nin, nout, nend) = reader.read_record(
            text.get(pos..).unwrap_or_default(),
            &mut fields[out..],
            &mut ends[nends..],
        );
        pos += nin;
        out += nout;
        nends += nend;
        match result {
            ReadRecordResult::Record => break,
            ReadRecordResult::End => return None,
            ReadRecordResult::InputEmpty => {}
            ReadRecordResult::OutputFull => fields.resize(fields.len() * 2, 0),
            ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
        }
    }
    let mut record = csv::ByteRecord::new();
    let mut start = 0;
    for &end in &ends[..nends] {
        record.push_field(fields.get(start..end).unwrap_or_default());
        start = end;
    }
    Some((record, pos.min(text.len())))
}

/// `name` fit for a terminal: control characters and bidirectional-text controls escaped as
/// `\u{1b}`, so that no escape sequence in a header reaches the screen.
pub(crate) fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let bidi = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi || c == '\u{feff}' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns true if and only if a header cell looks like a value rather than a column name:
/// it holds an `@`, or it is a number or a date.
fn looks_like_data(cell: &str) -> bool {
    let cell = cell.trim();
    cell.contains('@')
        || (cell.starts_with(|c: char| c.is_ascii_digit())
            && cell
                .chars()
                .all(|c| c.is_ascii_digit() || "-:./ TZ+".contains(c)))
}

/// How many column names a message lists at most.
const LISTED_NAMES: usize = 20;

/// The longest column name a message shows whole (in characters).
const LISTED_NAME_CHARS: usize = 64;

/// The header of a file for a message about its columns: its column names, escaped (the first
/// [`LISTED_NAMES`], each cut at [`LISTED_NAME_CHARS`]), when it reads as a header; when a cell
/// looks like data (the file has no header line), a sentence saying so, with no cell in it.
pub(crate) fn describe_header<S: AsRef<str>>(header: &[S]) -> HeaderDescription {
    if header.iter().any(|n| looks_like_data(n.as_ref())) {
        return HeaderDescription::LooksLikeData {
            fields: header.len(),
        };
    }
    let mut names: Vec<String> = header
        .iter()
        .take(LISTED_NAMES)
        .map(|n| {
            let n = n.as_ref();
            match n.char_indices().nth(LISTED_NAME_CHARS) {
                Some((cut, _)) => format!("{}…", escape(&n[..cut])),
                None => escape(n),
            }
        })
        .collect();
    if header.len() > LISTED_NAMES {
        names.push(format!("… {} more", header.len() - LISTED_NAMES));
    }
    HeaderDescription::Names(names.join(", "))
}

/// What [`describe_header`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderDescription {
    /// The header's column names, escaped, joined by `, `.
    Names(String),
    /// The first line looks like a record (it has this many fields), not a header.
    LooksLikeData {
        /// Its number of fields.
        fields: usize,
    },
}

impl std::fmt::Display for HeaderDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderDescription::Names(names) => write!(f, "the header is: {names}"),
            HeaderDescription::LooksLikeData { fields } => write!(
                f,
                "the first line looks like data, not a header ({fields} fields; not shown)"
            ),
        }
    }
}

/// Follows the CSV quoting state of text passing through, chunk by chunk, to find record
/// boundaries: line ends (`\n` or `\r`) outside quotes. A quote opens a quoted field only at
/// the start of a field, as in the `csv` crate; elsewhere it is an ordinary byte. Jumps from
/// quote to quote (memchr).
#[derive(Debug)]
pub(crate) struct QuoteTracker {
    delimiter: u8,
    in_quotes: bool,
    /// A quote ended the previous chunk inside a quoted field: it closes the field unless
    /// the next chunk starts with another quote (an escaped `""`).
    reopen_if_quote: bool,
    previous: u8,
}

impl QuoteTracker {
    /// A tracker at the start of a record.
    pub(crate) fn new(delimiter: u8) -> QuoteTracker {
        QuoteTracker {
            delimiter,
            in_quotes: false,
            reopen_if_quote: false,
            previous: b'\n',
        }
    }

    /// Returns true if and only if everything fed so far ends inside a quoted field.
    pub(crate) fn in_quotes(&self) -> bool {
        self.in_quotes
    }

    /// Follows `buf`, the text after everything fed so far. Returns the positions in `buf`
    /// of its first and last line-end bytes (`\n` or `\r`) outside quotes: record boundaries.
    pub(crate) fn feed(&mut self, buf: &[u8]) -> (Option<usize>, Option<usize>) {
        let Some(&last) = buf.last() else {
            return (None, None);
        };
        let (mut first_boundary, mut boundary) = (None, None);
        let mut note = |from: usize, to: usize| {
            let stretch = &buf[from..to];
            if first_boundary.is_none() {
                first_boundary = memchr::memchr2(b'\n', b'\r', stretch).map(|at| from + at);
            }
            if let Some(at) = memchr::memrchr2(b'\n', b'\r', stretch) {
                boundary = Some(from + at);
            }
        };
        let mut i = 0;
        if std::mem::take(&mut self.reopen_if_quote) && buf[0] == b'"' {
            self.in_quotes = true;
            i = 1;
        }
        // Where the current stretch outside quotes started.
        let mut outside = (!self.in_quotes).then_some(i);
        while let Some(offset) = memchr::memchr(b'"', &buf[i..]) {
            let j = i + offset;
            if self.in_quotes {
                match buf.get(j + 1) {
                    Some(b'"') => i = j + 2,
                    Some(_) => {
                        self.in_quotes = false;
                        i = j + 1;
                        outside = Some(i);
                    }
                    None => {
                        self.in_quotes = false;
                        self.reopen_if_quote = true;
                        i = j + 1;
                        outside = Some(i);
                    }
                }
            } else {
                let before = if j == 0 { self.previous } else { buf[j - 1] };
                if before == self.delimiter || before == b'\n' || before == b'\r' {
                    self.in_quotes = true;
                    if let Some(from) = outside.take() {
                        note(from, j);
                    }
                }
                i = j + 1;
            }
            if i >= buf.len() {
                break;
            }
        }
        if let Some(from) = outside {
            note(from.min(buf.len()), buf.len());
        }
        self.previous = last;
        (first_boundary, boundary)
    }
}

/// Where a record that ends with the line-end byte at `at` of `data` really ends: after a
/// `\r\n` pair as a whole. `None` when `data` stops right after a `\r` and more may follow
/// (`at_end` false): the `\n` of its pair may be next.
fn end_after(data: &[u8], at: usize, at_end: bool) -> Option<usize> {
    match (data[at], data.get(at + 1)) {
        (b'\r', Some(b'\n')) => Some(at + 2),
        (b'\r', None) if !at_end => None,
        _ => Some(at + 1),
    }
}

/// The end (after its line end: `\n`, `\r\n` or `\r`) of the first record of `data`, which
/// starts outside quotes; `at_end` says whether `data` runs to the end of its file.
pub(crate) fn first_record_end(data: &[u8], delimiter: u8, at_end: bool) -> Option<usize> {
    let (first, _) = QuoteTracker::new(delimiter).feed(data);
    end_after(data, first?, at_end)
}

/// The end (after its line end) of the last whole record of `data`, which starts outside
/// quotes; `at_end` says whether `data` runs to the end of its file.
pub(crate) fn last_record_end(data: &[u8], delimiter: u8, at_end: bool) -> Option<usize> {
    let (_, last) = QuoteTracker::new(delimiter).feed(data);
    let last = last?;
    match end_after(data, last, at_end) {
        Some(end) => Some(end),
        // A `\r` at the very end, outside quotes: the record before it is whole.
        None => last_record_end(&data[..last], delimiter, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_unterminated_quotes_across_chunks() {
        for (text, open) in [
            ("a,b\n1,2\n", false),
            ("a,b\n1,\"x\n", true),
            ("a,b\n1,\"x\"\"y\"\n", false),
            ("a,b\n1,\"x\"\"\n", true),
            ("a,b\n1,x\"y\n", false),
            ("a,b\n\"1\",\"multi\nline\"\n", false),
            ("a,b\r1,\"x\ry\"\r", false),
        ] {
            for split in 0..text.len() {
                let mut tracker = QuoteTracker::new(b',');
                tracker.feed(&text.as_bytes()[..split]);
                tracker.feed(&text.as_bytes()[split..]);
                assert_eq!(tracker.in_quotes(), open, "{text:?} split at {split}");
            }
        }
    }

    #[test]
    fn record_ends_with_lf_crlf_cr_and_quoted_newlines() {
        // LF, with quoted line ends inside records.
        let data = b"a,\"x\ny\",1\nb,2\nc,\"\"\"q\n\",3\n";
        assert_eq!(first_record_end(data, b',', false), Some(10));
        assert_eq!(last_record_end(data, b',', false), Some(data.len()));
        assert_eq!(
            last_record_end(&data[..data.len() - 1], b',', false),
            Some(14)
        );
        assert_eq!(last_record_end(b"a,\"open\n", b',', false), None);
        assert_eq!(first_record_end(b"a,\"open\n", b',', false), None);
        // CRLF: a record ends after the pair, never between its bytes.
        let data = b"a,\"x\r\ny\"\r\nb,2\r\n";
        assert_eq!(first_record_end(data, b',', false), Some(10));
        assert_eq!(last_record_end(data, b',', false), Some(data.len()));
        assert_eq!(
            last_record_end(&data[..data.len() - 1], b',', false),
            Some(10)
        );
        assert_eq!(first_record_end(b"a,b\r", b',', false), None);
        assert_eq!(first_record_end(b"a,b\r", b',', true), Some(4));
        // CR only (old Mac exports).
        let data = b"a,\"x\ry\"\rb,2\rc,3";
        assert_eq!(first_record_end(data, b',', false), Some(8));
        assert_eq!(last_record_end(data, b',', false), Some(12));
        assert_eq!(last_record_end(&data[..12], b',', true), Some(12));
        // A stray quote inside a field is a plain byte, as in the `csv` crate.
        assert_eq!(first_record_end(b"a,b\"c\nd,e\n", b',', false), Some(6));
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter(b"email;name;city\n"), b';');
        assert_eq!(sniff_delimiter(b"email\tname\n"), b'\t');
        assert_eq!(sniff_delimiter(b"email|name\n"), b'|');
        assert_eq!(sniff_delimiter(b"\"a;b\",email,name\n"), b',');
        assert_eq!(sniff_delimiter(b"email\n"), b',');
        assert_eq!(sniff_delimiter(b"email;name\r\"x,y,z\"\r"), b';');
    }

    #[test]
    fn finds_columns_by_known_names() {
        assert_eq!(find_known(&["Name", "Email Address"], &EMAIL), Some(1));
        assert_eq!(find_known(&["E-mail", "x"], &EMAIL), Some(0));
        assert_eq!(find_known(&["\u{feff}EMAIL_ADDRESS "], &EMAIL), Some(0));
        assert_eq!(find_known(&["a", "b"], &EMAIL), None);
        // Preference follows the table, not the header's order.
        assert_eq!(find_known(&["mail", "Email"], &EMAIL), Some(1));
        assert_eq!(
            find_known(&["Email Address", "OPTIN_TIME", "CONFIRM_TIME"], &SIGNUP),
            Some(1)
        );
        assert_eq!(find_known(&["email", "Created At"], &SIGNUP), Some(1));
        assert_eq!(find_known(&["email", "Signup-Date"], &SIGNUP), Some(1));
        assert_eq!(find_known(&["email", "name"], &SIGNUP), None);
        assert_eq!(find_known(&["Recipient", "Event"], &LOG_EMAIL), Some(0));
        assert_eq!(find_known(&["recipient", "Email"], &LOG_EMAIL), Some(1));
        assert_eq!(find_known(&["Recipient"], &EMAIL), None);
        assert_eq!(find_named(&["a", "Work"], "work"), Some(1));
        assert_eq!(find_named(&["work", "Work"], "Work"), Some(1));
        assert_eq!(find_named(&["a", "Work Mail"], "work_mail"), Some(1));
    }

    #[test]
    fn headers_parse_like_the_csv_crate() {
        let (record, used) = header_record(b"\xEF\xBB\xBFemail,\"a,b\"\r\nx,y\r\n", b',').unwrap();
        assert_eq!(record, csv::ByteRecord::from(vec!["email", "a,b"]));
        assert_eq!(
            &b"\xEF\xBB\xBFemail,\"a,b\"\r\nx,y\r\n"[used..],
            b"\nx,y\r\n"
        );
        assert_eq!(header_record(b"\n\n", b','), None);
        let (record, _) = header_record(b"email", b',').unwrap();
        assert_eq!(record.len(), 1);
    }

    // See: #16 item 9
    #[test]
    fn names_are_escaped_for_terminals() {
        assert_eq!(escape("e\u{1b}[31mmail\u{7}"), "e\\u{1b}[31mmail\\u{7}");
        assert_eq!(escape("a\r\nb\u{202e}c"), "a\\u{d}\\u{a}b\\u{202e}c");
        assert_eq!(escape("Émail Adresse"), "Émail Adresse");
        assert_eq!(
            describe_header(&["id", "x\u{1b}]0;pwned\u{7}"]).to_string(),
            "the header is: id, x\\u{1b}]0;pwned\\u{7}"
        );
    }

    // See: #16 item 7
    #[test]
    fn a_header_that_looks_like_data_is_not_shown() {
        for header in [
            &["jane@acme.com", "Jane"][..],
            &["42", "x"][..],
            &["Jane", "2024-01-02T10:00:00Z"][..],
        ] {
            let text = describe_header(header).to_string();
            assert_eq!(
                text,
                format!(
                    "the first line looks like data, not a header ({} fields; not shown)",
                    header.len()
                )
            );
        }
        let wide: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
        let text = describe_header(&wide).to_string();
        assert!(text.ends_with("c19, … 10 more"), "{text}");
        let long = "n".repeat(100);
        assert!(describe_header(&[long]).to_string().ends_with('…'));
    }
}
