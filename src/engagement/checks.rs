//! No silent failure: per-log counts, warnings and the error for a log listwash cannot read.
//!
//! Consumes the logs as inspected and each log's pass-1 counts; produces the per-file entries
//! of `report.json`, the warning lines (a log with more than 5% unknown events or unreadable
//! times, naming its most frequent unknown event names and the mapping fix; a high share of
//! sender-side bounces), and an error for a log in which no event is understood. Event names
//! are the service's vocabulary, never addresses; control characters are escaped.

use super::FileStats;
use super::fold::Counts;
use super::inspect::{LogFile, engagement_error};
use crate::error::Result;

/// A log with more than this share (per cent) of unknown events or unreadable times warns.
const UNREADABLE_PERCENT: u64 = 5;
/// Sender-side blocks above this share (per cent) of all bounces warn...
const SENDER_PERCENT: u64 = 20;
/// ...when there are at least this many.
const SENDER_MIN: u64 = 5;
/// Unknown event names named per log.
const TOP_UNKNOWN: usize = 5;

/// The most frequent unknown event names of a log, escaped, most frequent first.
fn top_unknown(counts: &Counts) -> Vec<(String, u64)> {
    let mut names: Vec<(String, u64)> = counts
        .unknown_names
        .iter()
        .map(|(name, n)| (crate::columns::escape(name), *n))
        .collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    names.truncate(TOP_UNKNOWN);
    names
}

/// Per-log report entries and warnings, or the error for a log with rows of which none is
/// an event listwash understands.
pub(super) fn check_files(
    files: &[LogFile],
    per_file: &[Counts],
    all: &Counts,
) -> Result<(Vec<FileStats>, Vec<String>)> {
    let mut stats = Vec::with_capacity(files.len());
    let mut warnings = Vec::new();
    let empty = Counts::default();
    for (index, file) in files.iter().enumerate() {
        let counts = per_file.get(index).unwrap_or(&empty);
        let unknown = counts.unparsed.unknown_event;
        let bad_times = counts.unparsed.bad_timestamp;
        let top = top_unknown(counts);
        let named = top
            .iter()
            .map(|(name, n)| format!("`{name}` ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        let named = if named.is_empty() {
            "no event name found".to_owned()
        } else {
            named
        };
        let rows = counts.rows_read;
        if rows > 0 && counts.known == 0 {
            return Err(engagement_error(
                &file.path,
                format!(
                    "no event in it is one listwash understands (read as {} in the {} dialect; unknown events: {named}); give --events-format, name the columns with --events-type-column and --events-time-column, or map the names in the rules file's [engagement.event_names]",
                    file.format.name(),
                    file.dialect.as_str()
                ),
            ));
        }
        if rows > 0 && (unknown + bad_times) * 100 > rows * UNREADABLE_PERCENT {
            let mut what = Vec::new();
            if unknown > 0 {
                what.push(format!("{unknown} unknown events (most frequent: {named})"));
            }
            if bad_times > 0 {
                what.push(format!("{bad_times} unreadable times"));
            }
            warnings.push(format!(
                "{}: {} of {rows} events not used: {}; map event names in the rules file's [engagement.event_names] (e.g. \"Name\" = \"delivered\"), or name the columns with --events-type-column / --events-time-column",
                crate::columns::escape(&file.path.to_string_lossy()),
                unknown + bad_times,
                what.join(", ")
            ));
        }
        stats.push(FileStats {
            format: file.format.name(),
            dialect: file.dialect.as_str(),
            rows_read: rows,
            unknown_events: unknown,
            bad_timestamps: bad_times,
            top_unknown_events: top,
        });
    }
    let bounces = all.hard + all.soft + all.sender;
    if all.sender >= SENDER_MIN && all.sender * 100 > bounces * SENDER_PERCENT {
        warnings.push(format!(
            "{} of {bounces} bounces in the event logs are blocks of the sender (policy, reputation or content: 5.7.x, \"blocked\", \"listed\"); they are not held against the recipients, but check the sending domain's reputation and authentication",
            all.sender
        ));
    }
    Ok((stats, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engagement::fold::HIDDEN_NAME;

    // See: #11 part 7: event names are shown, addresses never.
    #[test]
    fn unknown_names_are_escaped_ranked_and_never_addresses() {
        let mut counts = Counts::default();
        counts.unknown_name("Zugestellt", 3);
        counts.unknown_name("jane@example.com", 5);
        counts.unknown_name("Ge\u{1b}[31m", 4);
        let top = top_unknown(&counts);
        assert_eq!(
            top,
            [
                (HIDDEN_NAME.to_owned(), 5),
                ("Ge\\u{1b}[31m".to_owned(), 4),
                ("Zugestellt".to_owned(), 3)
            ]
        );
    }
}
