//! The end-of-run notices: one line for each thing about a run that a user must know and that
//! the counts per output do not show (issue 10 part 8).
//!
//! Consumes a [`Report`]; produces lines without a leading indent or a trailing newline, for
//! [`super::summary`] (or any other layout) to place. Never prints, and never shows a cell's
//! value: counts, line numbers and column names (escaped) only.

use crate::dates::OrderWhy;
use crate::report::Report;

/// How many line numbers a notice lists.
const LINES_SHOWN: usize = 5;

/// `n` with `one` or `many` after it.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The notices of a run, in a fixed order: unreadable dates, date orders assumed, trimmed
/// values, formula-like cells, rejected records, rows decided by vendor status columns.
pub fn notices(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    lines.extend(unreadable_dates(report));
    for column in &report.contacts.signup_dates {
        if column.order.why == OrderWhy::AmbiguousDefault {
            lines.push(format!(
                "signup dates in `{}`: no value settles the day/month order; read day first \
                 (--date-order mdy reads them month first)",
                super::escape_controls(&column.column)
            ));
        }
    }
    let trimmed = report.input.trimmed_values;
    if trimmed > 0 {
        lines.push(format!(
            "{} had white space or invisible characters around the address, trimmed before \
             checking (the cells are written unchanged)",
            count(trimmed, "cell", "cells")
        ));
    }
    let formulas = report.spreadsheet.formula_like_cells;
    if formulas > 0 {
        lines.push(if report.spreadsheet.neutralised {
            format!(
                "{} started like a spreadsheet formula; prefixed with ' (--excel-safe)",
                count(formulas, "cell", "cells")
            )
        } else {
            format!(
                "{} like a spreadsheet formula (=, +, - or an at sign); --excel-safe neutralises them",
                count(formulas, "cell starts", "cells start")
            )
        });
    }
    let rejected = report.outputs.rejected;
    if rejected > 0 {
        lines.push(format!(
            "{} could not be read as a row of the header's shape: see rejected.csv",
            count(rejected, "record", "records")
        ));
    }
    let contacts = &report.contacts;
    if contacts.decided_by_status > 0 {
        let columns: Vec<String> = contacts
            .status_columns
            .iter()
            .filter(|c| !c.decided.is_empty())
            .map(|c| format!("`{}`", super::escape_controls(&c.column)))
            .collect();
        lines.push(format!(
            "{} decided by the exporting service's own status ({})",
            count(contacts.decided_by_status, "row", "rows"),
            columns.join(", ")
        ));
    }
    lines
}

/// The line about signup cells that are not dates (count, columns and first lines), if any:
/// also the run's warning on stderr.
pub fn unreadable_dates(report: &Report) -> Option<String> {
    let columns: Vec<String> = report
        .contacts
        .signup_dates
        .iter()
        .filter(|c| c.unreadable > 0)
        .map(|c| {
            let mut lines: Vec<String> = c
                .first_unreadable_lines
                .iter()
                .take(LINES_SHOWN)
                .map(u64::to_string)
                .collect();
            if c.unreadable > lines.len() as u64 {
                lines.push("…".into());
            }
            format!(
                "{} in `{}` ({} {})",
                c.unreadable,
                super::escape_controls(&c.column),
                if lines.len() == 1 { "line" } else { "lines" },
                lines.join(", ")
            )
        })
        .collect();
    let total = report.input.unreadable_signup_dates;
    if total == 0 || columns.is_empty() {
        return None;
    }
    Some(format!(
        "{} could not be read as a date: {}; those rows count as having no signup date",
        count(total, "signup cell", "signup cells"),
        columns.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::config::CleanConfig;
    use crate::progress::Silent;

    /// A report of a run on `input` (no DNS).
    fn report_of(input: &str) -> Report {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv");
        std::fs::write(&path, input).expect("write");
        let config = CleanConfig::for_test(&path, &dir.path().join("out"));
        crate::pipeline::clean(&config, &Silent, Arc::new(|_: &str| {})).expect("run")
    }

    // See: #10 part 8
    #[test]
    fn one_line_for_each_thing_a_user_must_know_and_none_otherwise() {
        let quiet = report_of("email,signup_date\na@acme-tools.com,2024-01-02\n");
        assert!(notices(&quiet).is_empty(), "{:?}", notices(&quiet));
        let mut report = report_of(
            "email,signup_date\na@acme-tools.com,03/04/2024\nb@acme-tools.com,=1+1\n\
             c@acme-tools.com,1,2\n",
        );
        report.input.trimmed_values = 2;
        let lines = notices(&report);
        assert_eq!(
            lines,
            [
                "1 signup cell could not be read as a date: 1 in `signup_date` (line 3); \
                 those rows count as having no signup date",
                "signup dates in `signup_date`: no value settles the day/month order; read day \
                 first (--date-order mdy reads them month first)",
                "2 cells had white space or invisible characters around the address, trimmed \
                 before checking (the cells are written unchanged)",
                "1 cell starts like a spreadsheet formula (=, +, - or an at sign); --excel-safe \
                 neutralises them",
                "1 record could not be read as a row of the header's shape: see rejected.csv",
            ]
        );
        assert!(
            crate::render::summary(&report, Path::new("o"), &notices(&report))
                .contains("2 cells had white space"),
            "the summary shows the notices"
        );
    }
}
