//! `--fail-if` guard rails: thresholds on a run's outputs and reasons, checked after the run.
//!
//! Consumes the text of a threshold (`suppressed>15%`, `rejected>0`, `dns_unknown>=5%`) and a
//! finished [`Report`]; produces a parsed [`Threshold`] and, for each threshold, a
//! [`ThresholdResult`] saying what was measured and whether it tripped. Pure: never reads a
//! file, never prints, never chooses an exit code (the binary exits 3 when one tripped).
//!
//! A share is compared exactly (integer arithmetic on the row counts), so `suppressed>15%`
//! does not trip at exactly 150 of 1000 rows and `suppressed>=15%` does. With no input rows,
//! every count and every share is 0.
//!
//! See: #13 part 1.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::reason::Reason;
use crate::report::Report;

/// The outputs a threshold may name, besides the reason codes.
pub const OUTPUT_NAMES: [&str; 4] = ["clean", "review", "suppressed", "rejected"];

/// Decimal places a percentage may have.
const PERCENT_DECIMALS: u32 = 6;
/// A percentage is held as an integer: percent × this.
const PERCENT_SCALE: u64 = 10u64.pow(PERCENT_DECIMALS);

/// How the measured figure is compared with the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `>`
    Above,
    /// `>=`
    AtLeast,
    /// `<`
    Below,
    /// `<=`
    AtMost,
}

impl Comparison {
    /// The operator as written in a threshold.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }

    /// Returns true if and only if a figure that compares with the limit as `ordering`
    /// (figure against limit) trips this comparison.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Comparison::Above => ordering == Ordering::Greater,
            Comparison::AtLeast => ordering != Ordering::Less,
            Comparison::Below => ordering == Ordering::Less,
            Comparison::AtMost => ordering != Ordering::Greater,
        }
    }
}

/// The limit of a threshold: a number of rows, or a share of the input rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A number of rows (`rejected>0`).
    Rows(u64),
    /// A percentage of the input rows, exactly, as percent × 10⁶ (`15.5%` is 15 500 000).
    Percent(u64),
}

impl Limit {
    /// The limit as a number: rows, or percent.
    pub fn as_f64(self) -> f64 {
        match self {
            Limit::Rows(n) => n as f64,
            Limit::Percent(scaled) => scaled as f64 / PERCENT_SCALE as f64,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Limit::Rows(n) => write!(f, "{n}"),
            Limit::Percent(scaled) => {
                let (whole, fraction) = (scaled / PERCENT_SCALE, scaled % PERCENT_SCALE);
                if fraction == 0 {
                    write!(f, "{whole}%")
                } else {
                    let digits = format!("{fraction:0width$}", width = PERCENT_DECIMALS as usize);
                    write!(f, "{whole}.{}%", digits.trim_end_matches('0'))
                }
            }
        }
    }
}

/// What a threshold measures: the rows of an output, or the rows a reason decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// One of [`OUTPUT_NAMES`].
    Output(&'static str),
    /// Rows whose deciding `listwash_reason` is this reason.
    Reason(Reason),
}

impl Subject {
    /// The name as written in a threshold.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Output(name) => name,
            Subject::Reason(reason) => reason.code(),
        }
    }

    /// The rows this subject counts in a report.
    pub fn count(self, report: &Report) -> u64 {
        let o = &report.outputs;
        match self {
            Subject::Output("clean") => o.clean,
            Subject::Output("review") => o.review,
            Subject::Output("suppressed") => o.suppressed,
            Subject::Output("rejected") => o.rejected,
            // Parsing only makes the names in OUTPUT_NAMES.
            Subject::Output(_) => 0,
            Subject::Reason(reason) => report.reasons.get(reason.code()).copied().unwrap_or(0),
        }
    }
}

/// One `--fail-if` threshold, e.g. `suppressed>15%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// What is measured.
    pub subject: Subject,
    /// How it is compared.
    pub comparison: Comparison,
    /// With what.
    pub limit: Limit,
}

impl fmt::Display for Threshold {
    /// The threshold in its canonical form, without spaces (`suppressed>15%`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.subject.name(),
            self.comparison.symbol(),
            self.limit
        )
    }
}

/// Why a threshold could not be read; its text says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}`: {problem}; {ACCEPTED}")]
pub struct ThresholdParseError {
    /// The threshold as given (control characters escaped).
    pub expression: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The accepted forms, for error messages and `--help`.
pub const ACCEPTED: &str = "write NAME>N, NAME>=N, NAME<N or NAME<=N, where N is a number of rows \
     (rejected>0) or a percentage of the input rows from 0 to 100 (suppressed>15%, \
     dns_unknown>=2.5%), and NAME is an output (clean, review, suppressed, rejected) \
     or a reason code (e.g. invalid_syntax, dns_unknown)";

impl FromStr for Threshold {
    type Err = ThresholdParseError;

    fn from_str(text: &str) -> Result<Threshold, ThresholdParseError> {
        let fail = |problem: String| ThresholdParseError {
            expression: crate::columns::escape(text),
            problem,
        };
        let Some(at) = text.find(['>', '<']) else {
            return Err(fail("no comparison (>, >=, <, <=)".into()));
        };
        let name = text[..at].trim();
        let rest = &text[at..];
        let (comparison, value) = [
            (">=", Comparison::AtLeast),
            ("<=", Comparison::AtMost),
            (">", Comparison::Above),
            ("<", Comparison::Below),
        ]
        .into_iter()
        .find_map(|(symbol, c)| rest.strip_prefix(symbol).map(|v| (c, v.trim())))
        .ok_or_else(|| fail("no comparison (>, >=, <, <=)".into()))?;
        let subject = if let Some(&output) = OUTPUT_NAMES.iter().find(|n| **n == name) {
            Subject::Output(output)
        } else if let Some(reason) = Reason::from_code(name) {
            Subject::Reason(reason)
        } else if name.is_empty() {
            return Err(fail(
                "no output or reason name before the comparison".into(),
            ));
        } else {
            return Err(fail(format!(
                "`{}` is not an output or a reason code",
                crate::columns::escape(name)
            )));
        };
        let limit = match value.strip_suffix('%') {
            Some(percent) => Limit::Percent(parse_percent(percent.trim()).map_err(fail)?),
            None => Limit::Rows(value.parse().map_err(|_| {
                fail(format!(
                    "`{}` is not a whole number of rows or a percentage",
                    crate::columns::escape(value)
                ))
            })?),
        };
        Ok(Threshold {
            subject,
            comparison,
            limit,
        })
    }
}

/// `15`, `15.5`, `0.25` → percent × 10⁶; at most 100 and six decimals.
fn parse_percent(text: &str) -> Result<u64, String> {
    let not_a_percentage = || {
        format!(
            "`{}%` is not a percentage from 0 to 100 with at most {PERCENT_DECIMALS} decimals",
            crate::columns::escape(text)
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > PERCENT_DECIMALS as usize
        || (text.contains('.') && fraction.is_empty())
    {
        return Err(not_a_percentage());
    }
    let whole: u64 = whole.parse().map_err(|_| not_a_percentage())?;
    let fraction: u64 = format!("{fraction:0<width$}", width = PERCENT_DECIMALS as usize)
        .parse()
        .map_err(|_| not_a_percentage())?;
    let scaled = whole
        .checked_mul(PERCENT_SCALE)
        .and_then(|w| w.checked_add(fraction))
        .filter(|s| *s <= 100 * PERCENT_SCALE)
        .ok_or_else(not_a_percentage)?;
    Ok(scaled)
}

/// A threshold checked against a run, as `report.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdResult {
    /// The threshold in canonical form (`suppressed>15%`).
    pub expression: String,
    /// The output or reason measured.
    pub subject: &'static str,
    /// `>`, `>=`, `<` or `<=`.
    pub operator: &'static str,
    /// The limit: rows, or percent of the input rows.
    pub limit: f64,
    /// `rows` or `percent`: the unit of `limit` and `value`.
    pub unit: &'static str,
    /// Rows the subject counted.
    pub count: u64,
    /// Input rows (the base of a share).
    pub rows: u64,
    /// The measured figure in the unit of `limit`: `count`, or `count` as a percent of `rows`.
    pub value: f64,
    /// The figure crossed the limit: the run exits 3.
    pub tripped: bool,
}

impl Threshold {
    /// Checks the threshold against `count` rows of its subject out of `rows` input rows.
    pub fn check(&self, count: u64, rows: u64) -> ThresholdResult {
        let (ordering, unit, value) = match self.limit {
            Limit::Rows(limit) => (count.cmp(&limit), "rows", count as f64),
            // count / rows × 100 against scaled / SCALE, cross-multiplied in integers.
            Limit::Percent(scaled) => {
                let ordering = if rows == 0 {
                    0.cmp(&scaled)
                } else {
                    (u128::from(count) * 100 * u128::from(PERCENT_SCALE))
                        .cmp(&(u128::from(scaled) * u128::from(rows)))
                };
                (ordering, "percent", percent(count, rows))
            }
        };
        ThresholdResult {
            expression: self.to_string(),
            subject: self.subject.name(),
            operator: self.comparison.symbol(),
            limit: self.limit.as_f64(),
            unit,
            count,
            rows,
            value,
            tripped: self.comparison.holds(ordering),
        }
    }
}

/// `count` as a percent of `rows`; 0 when there are no rows.
fn percent(count: u64, rows: u64) -> f64 {
    if rows == 0 {
        0.0
    } else {
        100.0 * count as f64 / rows as f64
    }
}

/// Checks every threshold against a finished run, in the order given.
pub fn evaluate(thresholds: &[Threshold], report: &Report) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| t.check(t.subject.count(report), report.input.rows))
        .collect()
}

/// Returns true if and only if at least one threshold tripped.
pub fn any_tripped(results: &[ThresholdResult]) -> bool {
    results.iter().any(|r| r.tripped)
}

#[cfg(test)]
mod tests;
