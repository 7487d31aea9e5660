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

/// The width the end-of-run summary fits in.
pub const SUMMARY_WIDTH: usize = 80;

/// How many deciding reasons the summary lists before it says how many more there are.
const SUMMARY_REASONS: usize = 8;

/// The run's warnings for the summary and `report.html`: what DNS could not be trusted for,
/// then the [`notices()`] (unreadable dates, trimmed values, formula-like cells, …).
pub fn warnings(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if !report.domains.checked {
        lines.push("DNS: not checked (--no-dns)".to_string());
    } else if !report.domains.resolver_trusted {
        lines.push("DNS: resolver not trusted; domain-dependent rows sent to review".to_string());
    }
    lines.extend(notices(report));
    lines
}

/// The end-of-run table on stderr, at most [`SUMMARY_WIDTH`] columns (a long output folder
/// name aside): outputs, top reasons, list health before and after cleaning, and `warnings`
/// (wrapped). See: #12 part 5.
pub fn summary(report: &Report, out_dir: &Path, warnings: &[String]) -> String {
    let o = &report.outputs;
    let total = report.input.rows;
    let pct = |n: u64| 100.0 * n as f64 / total.max(1) as f64;
    let mut text = format!(
        "listwash: {} rows in {:.1}s -> {}\n",
        report.input.rows,
        report.elapsed_ms as f64 / 1000.0,
        escape_controls(&out_dir.display().to_string()),
    );
    let _ = writeln!(text, "  {:<28} {:>12} {:>8}", "output", "rows", "share");
    for (name, n) in [
        ("clean", o.clean),
        ("review", o.review),
        ("suppressed", o.suppressed),
        ("rejected", o.rejected),
    ] {
        let _ = writeln!(text, "  {name:<28} {n:>12} {:>7.2}%", pct(n));
    }
    let mut reasons: Vec<(&str, u64)> = Reason::ALL
        .iter()
        .map(|r| (r.code(), report.reasons.get(r.code()).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !reasons.is_empty() {
        let _ = writeln!(
            text,
            "  {:<28} {:>12} {:>8}",
            "top reasons", "rows", "share"
        );
        for (code, n) in reasons.iter().take(SUMMARY_REASONS) {
            let _ = writeln!(text, "    {code:<26} {n:>12} {:>7.2}%", pct(*n));
        }
        if reasons.len() > SUMMARY_REASONS {
            let rest: u64 = reasons[SUMMARY_REASONS..].iter().map(|r| r.1).sum();
            let label = format!("({} more reasons)", reasons.len() - SUMMARY_REASONS);
            let _ = writeln!(text, "    {label:<26} {rest:>12} {:>7.2}%", pct(rest));
        }
    }
    let h = &report.list_health;
    let _ = writeln!(
        text,
        "  {:<28} {:>12} {:>8}  band (senders' averages)",
        "list health (estimated)", "before", "after"
    );
    for (name, f) in [
        ("unknown users", &h.unknown_users),
        ("spam-trap risk", &h.trap_risk),
        ("complaint risk", &h.complaints),
    ] {
        let _ = writeln!(
            text,
            "    {name:<26} {:>11.2}% {:>7.2}%  {} -> {}",
            f.percent_before, f.percent_after, f.band_before, f.band_after
        );
    }
    let line = |l: &str| match l {
        "under_target" => "< 0.1%",
        "over_target" => ">= 0.1%",
        _ => ">= 0.3%",
    };
    let _ = writeln!(
        text,
        "    {:<26} {:>12} {:>8}  (Gmail/Yahoo lines)",
        "complaints vs 0.1%/0.3%",
        line(h.complaint_lines.before),
        line(h.complaint_lines.after),
    );
    if !warnings.is_empty() {
        text.push_str("  notices\n");
        for warning in warnings {
            for piece in wrap(&escape_controls(warning), SUMMARY_WIDTH - 6) {
                let _ = writeln!(text, "    {piece}");
            }
        }
    }
    text
}

/// `text` cut at spaces into lines of at most `width` characters (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
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
            let line = serde_json::to_string(r).unwrap_or_default();
            out.push_str(&escape_line_breaks(&line));
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

/// JSON text with U+0085, U+2028 and U+2029 escaped (`\u2028`): serde_json writes them raw,
/// and line-oriented readers and JavaScript before ES2019 take them for line ends. They can
/// only occur inside strings, so escaping them keeps the JSON's meaning. See: #10 part 3.
fn escape_line_breaks(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        match c {
            '\u{85}' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
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
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
    if with_outcomes {
        row("bad outcomes caught", &|r| pct(r.bad_caught));
        row("engaged contacts lost", &|r| pct(r.engaged_lost));
        for kind in ["bounced", "complained", "trap", "any_bad"] {
            let score = |r: &RuleSetResult| {
                r.scores
                    .as_ref()
                    .and_then(|s| s.by_outcome.get(kind).cloned())
            };
            row(&format!("{kind} precision"), &|r| {
                pct(score(r).and_then(|s| s.precision))
            });
            row(&format!("{kind} recall"), &|r| {
                pct(score(r).and_then(|s| s.recall))
            });
        }
        row("engaged suppressed", &|r| {
            r.scores.as_ref().map_or("-".to_string(), |s| {
                format!(
                    "{} ({})",
                    s.engaged_suppressed,
                    pct(s.engaged_suppressed_share)
                )
            })
        });
    }
    if report.rule_sets.len() > 1 {
        text.push_str("suppressed here, kept by:\n");
        for (j, other) in names.iter().enumerate() {
            let label = format!("  {}", shorten(other, 24));
            let _ = write!(text, "{label:<26}");
            for (i, _) in report.rule_sets.iter().enumerate() {
                let cell = if i == j {
                    "-".to_string()
                } else {
                    report
                        .overlaps
                        .iter()
                        .find(|o| {
                            o.suppressed_by == report.rule_sets[i].rules
                                && o.kept_by == report.rule_sets[j].rules
                        })
                        .map_or("0".to_string(), |o| o.rows.to_string())
                };
                let _ = write!(text, " {cell:>width$}");
            }
            text.push('\n');
        }
    }
    if let Some(file) = report
        .outcomes_file
        .as_ref()
        .filter(|f| f.unknown_values > 0)
    {
        let lines: Vec<String> = file.unknown_lines.iter().map(u64::to_string).collect();
        let _ = writeln!(
            text,
            "outcomes file: {} of {} rows have an outcome listwash does not know (skipped; lines {})",
            file.unknown_values,
            file.rows,
            lines.join(", ")
        );
    }

    text
}

/// `text` cut to at most `width` characters, with `…` when cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
pub mod html;
pub mod notices;
pub use self::notices::notices;

#[cfg(test)]
mod tests;
