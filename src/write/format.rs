//! CSV line formatting for the lines listwash composes itself: headers, rejected records,
//! neutralised rows and the reason columns. Rows that need no change are never formatted:
//! their text as read is copied.

/// Formats a record as one CSV line, without its line end (quoting as the csv crate's
/// "necessary" style).
pub(super) fn format_line<I, T>(fields: I, delimiter: u8) -> Vec<u8>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut line = Vec::new();
    let mut count = 0;
    for field in fields {
        if count > 0 {
            line.push(delimiter);
        }
        push_field(&mut line, field.as_ref(), delimiter);
        count += 1;
    }
    if count == 1 && line.is_empty() {
        // A lone empty field would be a blank line, which readers skip.
        line.extend_from_slice(b"\"\"");
    }
    line
}

/// Writes `field` as one CSV field: quoted when it holds the delimiter, a quote or a line end.
pub(super) fn push_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8) {
    let needs_quotes = field
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if !needs_quotes {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}
