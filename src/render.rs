//! Text for people: the end-of-run summary, `check`'s lines, `bench`'s table, tripped
//! thresholds and one-line error messages; [`events`] renders the same messages as JSON lines
//! for machines (`--log-format json`).
//!
//! Consumes reports and results; produces strings for the binary to print. Never prints
//! itself. No address appears in the summary or in an error message; `check` prints back
//! the addresses its user typed.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{BenchReport, RuleSetResult};
use crate::check::CheckResult;
use crate::error::MayQuoteData;
use crate::guard::ThresholdResult;
use crate::reason::Reason;
use crate::report::Report;

/// The `clean --sample` preview on stderr: per output and per reason, the sample's count and
/// the projected count for the whole list with its 95% interval. See: #13 part 6.
pub fn sample_table(report: &crate::sample::SampleReport) -> String {
    let mut text = format!(
        "listwash: sample of {} of {} rows (seed {}); projected for the whole list, {}\n",
        report.sample_size,
        report.rows_read,
        report.seed,
        if report.exact {
            "exact (the sample is the whole list)"
        } else {
            "95% interval"
        },
    );
    let _ = writeln!(
        text,
        "  {:<24} {:>8} {:>12} {:>25}",
        "", "sample", "projected", "interval"
    );
    let row = |text: &mut String, name: &str, e: &crate::sample::Estimate| {
        let range = format!("{} - {}", e.low, e.high);
        let _ = writeln!(
            text,
            "  {name:<24} {:>8} {:>12} {range:>25}",
            e.sample, e.projected
        );
    };
    for (name, estimate) in &report.outputs {
        row(&mut text, name, estimate);
    }
    let _ = writeln!(
        text,
        "  {:<24} {:>8} {:>12} {:>25}",
        "rejected", "-", report.rejected, "(counted, not sampled)"
    );
    if !report.reasons.is_empty() {
        text.push_str("  by reason:\n");
        for (name, estimate) in &report.reasons {
            row(&mut text, &format!("  {name}"), estimate);
        }
    }
    text
}

/// The end-of-run table on stderr: counts per output and per reason, then one `note:` line
/// per [`notices()`] (what a user must know: unreadable dates, trimmed values, …).
pub fn summary(report: &Report, out_dir: &Path) -> String {
    let o = &report.outputs;
    let total = report.input.rows.max(1) as f64;
    let pct = |n: u64| 100.0 * n as f64 / total;
    let mut text = format!(
        "listwash: {} rows in {:.1}s -> {}\n",
        report.input.rows,
        report.elapsed_ms as f64 / 1000.0,
        escape_controls(&out_dir.display().to_string()),
    );
    for (name, n) in [
        ("clean", o.clean),
        ("review", o.review),
        ("suppressed", o.suppressed),
        ("rejected", o.rejected),
    ] {
        let _ = writeln!(text, "  {name:<10} {n:>10} {:>6.2}%", pct(n));
    }
    let mut reasons: Vec<(&str, u64)> = Reason::ALL
        .iter()
        .map(|r| (r.code(), report.reasons.get(r.code()).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !reasons.is_empty() {
        text.push_str("  by reason:\n");
        for (code, n) in reasons {
            let _ = writeln!(text, "    {code:<24} {n:>10}");
        }
    }
    if !report.domains.checked {
        text.push_str("  DNS: not checked (--no-dns)\n");
    } else if !report.domains.resolver_trusted {
        text.push_str("  DNS: resolver not trusted; domain-dependent rows sent to review\n");
    }
    for line in notices(report) {
        let _ = writeln!(text, "  note: {line}");
    }
    text
}

/// The stderr line (after `listwash: `) for a `--fail-if` threshold that tripped, e.g.
/// `threshold suppressed>15% tripped: 22.4% (224 of 1000 rows)`.
pub fn threshold_tripped(result: &ThresholdResult) -> String {
    let figure = if result.unit == "percent" {
        format!(
            "{}% ({} of {} rows)",
            shown_percent(result),
            result.count,
            result.rows
        )
    } else {
        format!("{} rows (of {})", result.count, result.rows)
    };
    format!("threshold {} tripped: {figure}", result.expression)
}

/// The share with one decimal, or more (up to four) when one decimal would read as not
/// crossing the limit (`15.0%` for `>15%` is shown as `15.01%`).
fn shown_percent(result: &ThresholdResult) -> String {
    let mut text = String::new();
    for decimals in 1..=4 {
        text = format!("{:.decimals$}", result.value);
        let shown: f64 = text.parse().unwrap_or(result.value);
        let crosses = match result.operator {
            ">" => shown > result.limit,
            ">=" => shown >= result.limit,
            "<" => shown < result.limit,
            _ => shown <= result.limit,
        };
        if crosses == result.tripped {
            break;
        }
    }
    text
}

/// `check`'s output: a tab-separated line per address, or JSON lines.
pub fn check_results(results: &[CheckResult], json: bool) -> String {
    let mut out = String::new();
    for r in results {
        if json {
            // A struct of strings and enums always serialises.
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
        } else {
            let _ = write!(
                out,
                "{}\t{}\t{}\t{}",
                r.address,
                r.action.as_str(),
                r.reason.unwrap_or("-"),
                r.detail
            );
        }
        out.push('\n');
    }
    out
}

/// `bench`'s side-by-side table: one column per rule set.
pub fn bench_table(report: &BenchReport, with_outcomes: bool) -> String {
    let names: Vec<String> = report
        .rule_sets
        .iter()
        .map(|r| r.rules.display().to_string())
        .collect();
    let width = names
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(8)
        .clamp(10, 40);
    let mut text = format!("{} rows", report.rows);
    if with_outcomes {
        let _ = write!(text, ", {} with a known outcome", report.rows_with_outcome);
    }
    let _ = write!(text, "\n{:<26}", "");
    for name in &names {
        let _ = write!(text, " {name:>width$}");
    }
    text.push('\n');
    let mut row = |label: &str, cell: &dyn Fn(&RuleSetResult) -> String| {
        let _ = write!(text, "{label:<26}");
        for r in &report.rule_sets {
            let _ = write!(text, " {:>width$}", cell(r));
        }
        text.push('\n');
    };
    let count = |map: &std::collections::BTreeMap<&'static str, u64>, key: &str| {
        map.get(key).copied().unwrap_or(0).to_string()
    };
    for action in ["keep", "review", "suppress"] {
        row(action, &|r| count(&r.actions, action));
    }
    for reason in Reason::ALL {
        if report
            .rule_sets
            .iter()
            .any(|r| r.reasons.contains_key(reason.code()))
        {
            row(&format!("  {}", reason.code()), &|r| {
                count(&r.reasons, reason.code())
            });
        }
    }
    if with_outcomes {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
        row("bad outcomes caught", &|r| pct(r.bad_caught));
        row("engaged contacts lost", &|r| pct(r.engaged_lost));
    }
    text
}

/// An error and its causes on one line, each cause once, control characters escaped.
/// Causes that may quote the data they failed on ([`MayQuoteData`]) are left out unless
/// `show_values`.
pub fn error_message(error: &(dyn StdError + 'static), show_values: bool) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        if !show_values && current.is::<MayQuoteData>() {
            text.push_str(" (the underlying message is hidden because it may quote the file's contents; --show-values shows it)");
            break;
        }
        let message = current.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = current.source();
    }
    escape_controls(&one_line(&text))
}

/// A message with its white space folded to single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` with control characters and invisible direction overrides escaped (`\u{1b}`), so
/// that nothing read from a file can move the cursor or recolour a terminal.
pub fn escape_controls(text: &str) -> String {
    crate::columns::escape(text)
}

pub mod events;
pub mod notices;
pub use self::notices::notices;

#[cfg(test)]
mod tests;
