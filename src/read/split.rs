//! Splitting one record into fields: a memchr fast path for the usual shape, csv_core for
//! the rest.
//!
//! Consumes the text at the start of a record; produces its unescaped field bytes and field
//! ends in the caller's buffers, exactly as csv_core would. Never allocates per record beyond
//! growing those buffers, and never decides whether a record is a valid row.

use csv_core::ReadRecordResult;

/// The byte searches [`split_simple`] makes, built once per batch: memchr's free functions
/// detect the CPU and rebuild their searcher on every call, which costs more than the search
/// itself on fields of a dozen bytes.
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        clippy::large_enum_variant,
        reason = "one per batch parse, on the stack; boxing would add a load to every search"
    )
)]
pub(super) enum Searcher {
    #[cfg(target_arch = "x86_64")]
    Avx2 {
        stops: memchr::arch::x86_64::avx2::memchr::Three,
        quote: memchr::arch::x86_64::avx2::memchr::One,
    },
    Portable {
        stops: memchr::arch::all::memchr::Three,
        quote: memchr::arch::all::memchr::One,
    },
}

impl Searcher {
    /// Finds the delimiter and line ends (`stops`), and quotes.
    pub(super) fn new(delimiter: u8) -> Searcher {
        #[cfg(target_arch = "x86_64")]
        if let (Some(stops), Some(quote)) = (
            memchr::arch::x86_64::avx2::memchr::Three::new(delimiter, b'\n', b'\r'),
            memchr::arch::x86_64::avx2::memchr::One::new(b'"'),
        ) {
            return Searcher::Avx2 { stops, quote };
        }
        Searcher::Portable {
            stops: memchr::arch::all::memchr::Three::new(delimiter, b'\n', b'\r'),
            quote: memchr::arch::all::memchr::One::new(b'"'),
        }
    }

    fn stop(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Searcher::Avx2 { stops, .. } => stops.find(haystack),
            Searcher::Portable { stops, .. } => stops.find(haystack),
        }
    }

    fn quote(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Searcher::Avx2 { quote, .. } => quote.find(haystack),
            Searcher::Portable { quote, .. } => quote.find(haystack),
        }
    }
}

/// A record [`split_simple`] read.
pub(super) struct Simple {
    /// Bytes of text it took (its line end not included).
    pub(super) len: usize,
    /// It had a quoted field (which may hold line ends).
    pub(super) quoted: bool,
}

/// Splits the record at the start of `text` into fields, exactly as csv_core would, when it
/// has the usual shape: unquoted fields, and quoted fields (with `""` escapes) that close
/// right before a delimiter or the line end. The field bytes go to `fields[*out..]`, their
/// ends to `ends[*nends..]`. Returns `None` for any other shape (a quote left open, text after
/// a closing quote), and the caller parses the record with csv_core instead.
///
/// csv_core walks a state machine byte by byte; this jumps between delimiters, quotes and line
/// ends with memchr, several times faster on typical exports.
pub(super) fn split_simple(
    text: &[u8],
    delimiter: u8,
    search: &Searcher,
    fields: &mut [u8],
    out: &mut usize,
    ends: &mut Vec<usize>,
    nends: &mut usize,
) -> Option<Simple> {
    let mut copy = |from: &[u8], out: &mut usize| {
        fields[*out..*out + from.len()].copy_from_slice(from);
        *out += from.len();
    };
    let mut push_end = |end: usize, nends: &mut usize| {
        if *nends == ends.len() {
            ends.resize(2 * *nends + 16, 0);
        }
        ends[*nends] = end;
        *nends += 1;
    };
    let mut quoted = false;
    let mut i = 0;
    'fields: loop {
        if text.get(i) == Some(&b'"') {
            quoted = true;
            i += 1;
            loop {
                let close = i + search.quote(&text[i..])?;
                copy(&text[i..close], out);
                i = close + 1;
                if text.get(i) != Some(&b'"') {
                    break;
                }
                copy(b"\"", out); // an escaped quote
                i += 1;
            }
            push_end(*out, nends);
            match text.get(i) {
                None | Some(b'\n' | b'\r') => return Some(Simple { len: i, quoted }),
                Some(&b) if b == delimiter => i += 1,
                Some(_) => return None,
            }
            continue;
        }
        // Unquoted fields, up to the next quoted one or the line end.
        let mut from = i;
        while let Some(at) = search.stop(&text[from..]) {
            let stop = from + at;
            copy(&text[from..stop], out);
            push_end(*out, nends);
            if text[stop] != delimiter {
                return Some(Simple { len: stop, quoted });
            }
            from = stop + 1;
            if text.get(from) == Some(&b'"') {
                i = from;
                continue 'fields;
            }
        }
        copy(&text[from..], out);
        push_end(*out, nends);
        return Some(Simple {
            len: text.len(),
            quoted,
        });
    }
}

/// Reads one record from `input` with csv_core into `fields[*out..]` and `ends[*nends..]`
/// (ends as offsets into `fields`), growing both as needed. Returns the input bytes consumed,
/// and false when there was no record (the end of the input).
pub(super) fn read_record_into(
    reader: &mut csv_core::Reader,
    input: &[u8],
    fields: &mut Vec<u8>,
    out: &mut usize,
    ends: &mut Vec<usize>,
    nends: &mut usize,
) -> (usize, bool) {
    let first = *out;
    let mut pos = 0;
    loop {
        let (result, nin, nout, nend) = reader.read_record(
            input.get(pos..).unwrap_or_default(),
            &mut fields[*out..],
            &mut ends[*nends..],
        );
        for end in &mut ends[*nends..*nends + nend] {
            *end += first;
        }
        pos += nin;
        *out += nout;
        *nends += nend;
        match result {
            ReadRecordResult::Record => return (pos, true),
            ReadRecordResult::End => return (pos, false),
            // The input ended inside the record (the end of the file): the next call, with no
            // input, completes it.
            ReadRecordResult::InputEmpty => {}
            ReadRecordResult::OutputFull => {
                let grow = fields.len().max(64);
                fields.resize(fields.len() + grow, 0);
            }
            ReadRecordResult::OutputEndsFull => {
                let grow = ends.len().max(16);
                ends.resize(ends.len() + grow, 0);
            }
        }
    }
}

/// A CSV record parser for a batch: RFC 4180 quoting, `\r`, `\n` or `\r\n` line ends, as the
/// `csv` crate reads. It has already "read" once, so that it never strips a byte-order mark
/// from a batch's first field (only the start of the input may carry one).
pub(super) fn record_reader(delimiter: u8) -> csv_core::Reader {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    prime(&mut reader);
    reader
}

/// Makes a fresh (or reset) parser past its first read.
pub(super) fn prime(reader: &mut csv_core::Reader) {
    // A blank line: no output, no record, the parser stays at the start of a record.
    let _ = reader.read_record(b"\n", &mut [0u8; 1], &mut [0usize; 1]);
}
