//! Signup dates as contact exports write them: ISO dates and date-times, Unix times, and the
//! day-first and month-first forms of spreadsheets and vendors (`DD.MM.YYYY`, `DD-MM-YYYY`,
//! `DD/MM/YYYY`, `M/D/YYYY`), each with an optional time.
//!
//! Consumes date cells; produces days ([`read_date`]) and, from a column's first values, the
//! day/month order to read it with ([`OrderVote`], [`ColumnOrder`]). Never reads a file and
//! never puts a cell's value in what it returns for messages.

use chrono::NaiveDate;
use serde::Serialize;

/// How to read a date whose first two parts could each be the day or the month
/// (`03/04/2024`). `--date-order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day, month, year (`31.12.2024`, `31/12/2024`).
    Dmy,
    /// Month, day, year (`12/31/2024`).
    Mdy,
    /// Year, month, day (`2024/12/31`): only year-first dates are read.
    Ymd,
}

impl DateOrder {
    /// The order's name as `--date-order` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
            DateOrder::Ymd => "ymd",
        }
    }
}

/// The parts of a date cell before any time: three numbers and where the year is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    first: u32,
    second: u32,
    third: u32,
    /// The first part has four digits (`2024/12/31`): year, month, day.
    year_first: bool,
}

/// Splits `YYYY?MM?DD` or `DD?MM?YYYY` (`?` one of `.` `-` `/`, the same twice), followed by
/// nothing, or a time after a space or `T` (`10:00`, `10:00:59`, `2:05 PM`), into its parts.
fn parts(text: &str) -> Option<Parts> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let number = |at: &mut usize, min: usize, max: usize| -> Option<(u32, usize)> {
        let start = *at;
        while *at < bytes.len() && bytes[*at].is_ascii_digit() && *at - start < max {
            *at += 1;
        }
        let len = *at - start;
        if len < min {
            return None;
        }
        text.get(start..*at)?.parse().ok().map(|n| (n, len))
    };
    let (first, first_len) = number(&mut at, 1, 4)?;
    let separator = *bytes.get(at).filter(|b| matches!(b, b'.' | b'-' | b'/'))?;
    at += 1;
    let (second, _) = number(&mut at, 1, 2)?;
    (bytes.get(at) == Some(&separator)).then_some(())?;
    at += 1;
    let year_first = first_len == 4;
    let (third, third_len) = number(&mut at, if year_first { 1 } else { 4 }, 4)?;
    if (year_first && third_len > 2) || (!year_first && first_len > 2) {
        return None;
    }
    let rest = &text[at..];
    if !rest.is_empty() && !is_time(rest) {
        return None;
    }
    Some(Parts {
        first,
        second,
        third,
        year_first,
    })
}

/// Returns true if and only if `rest` (what follows a date) is a time: a space or `T`, then
/// `H:MM`, optionally `:SS` (with fractions), optionally ` AM`/` PM`, optionally `Z` or an
/// offset. Its value is not used: a signup is a day.
fn is_time(rest: &str) -> bool {
    let Some(time) = rest.strip_prefix([' ', 'T']) else {
        return false;
    };
    let time = time.trim();
    let mut fields = time.splitn(2, ':');
    let hour = fields.next().unwrap_or_default();
    let Some(tail) = fields.next() else {
        return false;
    };
    if hour.is_empty() || hour.len() > 2 || !hour.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    tail.bytes().take(2).all(|b| b.is_ascii_digit())
        && tail.len() >= 2
        && tail[2..].bytes().all(|b| {
            b.is_ascii_digit()
                || matches!(b, b':' | b'.' | b' ' | b'+' | b'-' | b'Z')
                || b.is_ascii_alphabetic()
        })
}

/// A calendar day in four bytes: what a contact row carries from its signup cell until a
/// rule needs the date (only with engagement history). Made only from days that exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(std::num::NonZeroU32);

/// Added to years before packing them: chrono's years go down to -262,143.
const YEAR_BIAS: i32 = 1 << 18;

impl Day {
    /// The day `year-month-day`, or `None` if there is no such day.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Day> {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            _ => return None,
        };
        if day == 0 || day > days {
            return None;
        }
        let year = u32::try_from(year.checked_add(YEAR_BIAS)?).ok()?;
        std::num::NonZeroU32::new((year << 9) | (month << 5) | day).map(Day)
    }

    /// The day of a date (`None` only outside years -262,143 to 262,143, which chrono
    /// does not make either).
    pub fn from_date(date: NaiveDate) -> Option<Day> {
        use chrono::Datelike;
        Day::new(date.year(), date.month(), date.day())
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        let packed = self.0.get();
        let year = (packed >> 9) as i32 - YEAR_BIAS;
        // Every Day is a day that exists (see `Day::new`): the default is never used.
        NaiveDate::from_ymd_opt(year, (packed >> 5) & 0xf, packed & 0x1f).unwrap_or_default()
    }
}

/// A plain `YYYY-MM-DD` cell, read without the date-time machinery: `None` when the cell
/// has another form, `Some(None)` when it has this form but names no day (`2024-02-30`).
pub fn iso_date(bytes: &[u8]) -> Option<Option<Day>> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *bytes else {
        return None;
    };
    // All eight digits at once: every byte's high half is 3 (0x30..=0x3f), and stays 3 when
    // 6 is added to it (its low half is at most 9); no carry crosses a byte.
    let word = u64::from_le_bytes([y0, y1, y2, y3, m0, m1, d0, d1]);
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    if word & HIGH != ZEROS || (word + 0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    let [y0, y1, y2, y3, m0, m1, d0, d1] = (word - ZEROS).to_le_bytes().map(u32::from);
    let year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
    Some(Day::new(year as i32, m0 * 10 + m1, d0 * 10 + d1))
}

/// Reads a date cell (trimmed, not empty) with `order` for a day/month pair that its values
/// do not settle. ISO dates and date-times and Unix times are read as the event logs read
/// them (a date-time with an offset gives its UTC day); then the day-first and month-first
/// forms. Returns `None` when the cell is not a date in any of these forms, or names a day
/// that does not exist.
pub fn read_date(value: &str, order: DateOrder) -> Option<NaiveDate> {
    // The common case first, without the date-time machinery.
    if let Some(day) = iso_date(value.as_bytes()) {
        return day.map(Day::date);
    }
    if let Some(day) = crate::engagement::parse_date(value) {
        return Some(day);
    }
    let p = parts(value)?;
    let (year, month, day) = if p.year_first {
        (p.first, p.second, p.third)
    } else {
        match order {
            DateOrder::Dmy => (p.third, p.second, p.first),
            DateOrder::Mdy => (p.third, p.first, p.second),
            DateOrder::Ymd => return None,
        }
    };
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// Counts what a column's values say about their day/month order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderVote {
    /// Values read so far (not empty).
    pub values: u64,
    /// Year-last values whose first part is over 12: day first.
    pub day_first: u64,
    /// Year-last values whose second part is over 12: month first.
    pub month_first: u64,
    /// Year-last values with both parts 12 or under.
    pub ambiguous: u64,
}

impl OrderVote {
    /// Counts one cell.
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.values += 1;
        match parts(value) {
            Some(p) if !p.year_first => {
                if p.first > 12 && p.second <= 12 {
                    self.day_first += 1;
                } else if p.second > 12 && p.first <= 12 {
                    self.month_first += 1;
                } else {
                    self.ambiguous += 1;
                }
            }
            _ => {}
        }
    }

    /// The order to read the column with, and why, given `--date-order` (`given`).
    pub fn decide(&self, given: Option<DateOrder>) -> ColumnOrder {
        let (order, why) = match (self.day_first, self.month_first, given) {
            (0, 0, _) if self.ambiguous == 0 => {
                (given.unwrap_or(DateOrder::Dmy), OrderWhy::NoDayMonthPair)
            }
            (d, 0, _) if d > 0 => (DateOrder::Dmy, OrderWhy::FirstPartOver12),
            (0, m, _) if m > 0 => (DateOrder::Mdy, OrderWhy::SecondPartOver12),
            (0, 0, Some(given)) => (given, OrderWhy::Ambiguous),
            (0, 0, None) => (DateOrder::Dmy, OrderWhy::AmbiguousDefault),
            (d, m, _) if d >= m => (DateOrder::Dmy, OrderWhy::MixedMostlyFirstOver12),
            _ => (DateOrder::Mdy, OrderWhy::MixedMostlySecondOver12),
        };
        ColumnOrder {
            order,
            why,
            sampled: self.values,
            day_first: self.day_first,
            month_first: self.month_first,
        }
    }
}

/// Why a column is read in its order (`report.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderWhy {
    /// No sampled value has a day/month pair (ISO dates, Unix times, or no values): the order
    /// does not matter; `--date-order` (or day first) is kept for any later value.
    NoDayMonthPair,
    /// Some sampled values have a first part over 12 (a day), none a second part over 12.
    #[serde(rename = "first_part_over_12")]
    FirstPartOver12,
    /// Some sampled values have a second part over 12 (a day), none a first part over 12.
    #[serde(rename = "second_part_over_12")]
    SecondPartOver12,
    /// Every sampled pair is 12 or under: `--date-order` decided.
    Ambiguous,
    /// Every sampled pair is 12 or under and no `--date-order` was given: day first assumed.
    AmbiguousDefault,
    /// Values disagree; more have a first part over 12 (the others are unreadable).
    #[serde(rename = "mixed_mostly_first_over_12")]
    MixedMostlyFirstOver12,
    /// Values disagree; more have a second part over 12 (the others are unreadable).
    #[serde(rename = "mixed_mostly_second_over_12")]
    MixedMostlySecondOver12,
}

/// A date column's order, as decided from its first values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColumnOrder {
    /// The order used for day/month pairs.
    pub order: DateOrder,
    /// Why.
    pub why: OrderWhy,
    /// Non-empty values looked at (the first rows of the file, read ahead once).
    pub sampled: u64,
    /// Of those, values whose first part is over 12.
    pub day_first: u64,
    /// Of those, values whose second part is over 12.
    pub month_first: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    // The fast path's own calendar must agree with chrono's on every day and non-day.
    #[test]
    fn plain_iso_dates_name_the_days_chrono_names() {
        for year in [0, 1, 4, 100, 1900, 1999, 2000, 2023, 2024, 2100, 2400, 9999] {
            for month in 0..=13 {
                for d in 0..=32 {
                    let text = format!("{year:04}-{month:02}-{d:02}");
                    let read = iso_date(text.as_bytes()).map(|day| day.map(Day::date));
                    assert_eq!(read, Some(day(year, month, d)), "{text}");
                }
            }
        }
        for other in [
            "2024-1-05",
            "2024/01/05",
            "２０２４-01-05",
            "2024-01-05 ",
            "20240105",
        ] {
            assert_eq!(iso_date(other.as_bytes()), None, "{other}");
        }
        // Any byte but a digit, in any digit's place, makes it another form.
        for at in [0, 1, 2, 3, 5, 6, 8, 9] {
            for byte in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                let mut text = *b"2024-01-05";
                text[at] = byte;
                assert_eq!(iso_date(&text), None, "{text:?}");
            }
        }
    }

    #[test]
    fn days_keep_every_date_chrono_makes() {
        for date in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            day(-44, 3, 15).unwrap_or_default(),
            day(2024, 2, 29).unwrap_or_default(),
            day(1970, 1, 1).unwrap_or_default(),
        ] {
            assert_eq!(Day::from_date(date).map(Day::date), Some(date), "{date}");
        }
        assert_eq!(Day::new(2023, 2, 29), None);
        assert_eq!(Day::new(2024, 13, 1), None);
    }

    // See: #10 part 5
    #[test]
    fn reads_every_documented_form() {
        use DateOrder::*;
        for (text, order, expected) in [
            ("2024-03-14", Dmy, day(2024, 3, 14)),
            ("2024-03-14T10:00:00Z", Mdy, day(2024, 3, 14)),
            ("2024-03-14 10:00", Dmy, day(2024, 3, 14)),
            ("2024-03-14 10:00:59", Dmy, day(2024, 3, 14)),
            ("14.03.2024", Dmy, day(2024, 3, 14)),
            ("14.03.2024 09:30", Dmy, day(2024, 3, 14)),
            ("14-03-2024", Dmy, day(2024, 3, 14)),
            ("14/03/2024", Dmy, day(2024, 3, 14)),
            ("3/14/2024", Mdy, day(2024, 3, 14)),
            ("3/14/2024 2:05 PM", Mdy, day(2024, 3, 14)),
            ("03/04/2024", Dmy, day(2024, 4, 3)),
            ("03/04/2024", Mdy, day(2024, 3, 4)),
            ("2024/03/14", Ymd, day(2024, 3, 14)),
            ("2024/3/4", Dmy, day(2024, 3, 4)),
            ("03/04/2024", Ymd, None),
            ("14/03/2024", Mdy, None),
            ("31.02.2024", Dmy, None),
            ("2024-02-30", Dmy, None),
            ("2024-13-01", Dmy, None),
            ("2024-1a-01", Dmy, None),
            ("14.03.24", Dmy, None),
            ("14.03-2024", Dmy, None),
            ("14.03.2024 soon", Dmy, None),
            ("not a date", Dmy, None),
            ("", Dmy, None),
        ] {
            assert_eq!(read_date(text, order), expected, "{text} {order:?}");
        }
    }

    // See: #10 part 5
    #[test]
    fn a_first_part_over_12_settles_the_order_else_date_order_does() {
        let vote = |values: &[&str]| {
            let mut vote = OrderVote::default();
            for v in values {
                vote.add(v);
            }
            vote
        };
        let german = vote(&["01.02.2024", "", "13.02.2024"]);
        assert_eq!(german.decide(Some(DateOrder::Mdy)).order, DateOrder::Dmy);
        assert_eq!(german.decide(None).why, OrderWhy::FirstPartOver12);
        let us = vote(&["1/2/2024", "2/13/2024 10:00"]);
        assert_eq!(us.decide(None).order, DateOrder::Mdy);
        assert_eq!(us.decide(None).why, OrderWhy::SecondPartOver12);
        let ambiguous = vote(&["01/02/2024", "03/04/2024"]);
        assert_eq!(ambiguous.decide(Some(DateOrder::Mdy)).order, DateOrder::Mdy);
        assert_eq!(
            ambiguous.decide(Some(DateOrder::Mdy)).why,
            OrderWhy::Ambiguous
        );
        assert_eq!(ambiguous.decide(None).order, DateOrder::Dmy);
        assert_eq!(ambiguous.decide(None).why, OrderWhy::AmbiguousDefault);
        let iso = vote(&["2024-01-02", "2024-02-03"]);
        assert_eq!(
            iso.decide(Some(DateOrder::Mdy)).why,
            OrderWhy::NoDayMonthPair
        );
        assert_eq!(iso.decide(Some(DateOrder::Mdy)).order, DateOrder::Mdy);
        let mixed = vote(&["13/01/2024", "14/01/2024", "1/13/2024"]);
        assert_eq!(mixed.decide(None).order, DateOrder::Dmy);
        assert_eq!(mixed.decide(None).why, OrderWhy::MixedMostlyFirstOver12);
    }
}
