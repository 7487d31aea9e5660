//! Casting event-log cells: timestamps of any type to Unix seconds, `machine` cells to
//! booleans, address cells to contact keys.
//!
//! Consumes polars columns (or one address cell); produces typed columns (nulls where a cell
//! cannot be read) or a key. Never reads a file, never counts or folds rows.

use polars::prelude::*;

use super::Problem;
use super::parse;
use crate::normalize::{key, key_of};

/// Timestamp cells of any type to Unix seconds (null when unparseable).
pub(super) fn unix_times(column: Column) -> PolarsResult<Column> {
    let seconds: Int64Chunked = match column.dtype() {
        DataType::Datetime(unit, _) => {
            let per_second = match unit {
                TimeUnit::Milliseconds => 1_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Nanoseconds => 1_000_000_000,
            };
            let physical = column.to_physical_repr();
            physical
                .i64()?
                .iter()
                .map(|v| v.map(|v| v.div_euclid(per_second)))
                .collect()
        }
        DataType::Date => {
            let days = column.cast(&DataType::Int32)?;
            days.i32()?
                .iter()
                .map(|v| v.map(|d| i64::from(d) * 86_400))
                .collect()
        }
        dtype if dtype.is_float() => {
            let values = column.cast(&DataType::Float64)?;
            values
                .f64()?
                .iter()
                .map(|v| {
                    v.filter(|v| v.is_finite())
                        .map(|v| parse::unix_seconds(v as i64))
                })
                .collect()
        }
        dtype if dtype.is_integer() => {
            let values = column.cast(&DataType::Int64)?;
            values
                .i64()?
                .iter()
                .map(|v| v.map(parse::unix_seconds))
                .collect()
        }
        // Text (and anything else, as text).
        _ => {
            let text = column.cast(&DataType::String)?;
            text.str()?
                .iter()
                .map(|v| v.and_then(parse::timestamp))
                .collect()
        }
    };
    Ok(seconds.with_name("ts".into()).into_column())
}

/// `machine` cells to booleans (null when empty or not a boolean).
pub(super) fn machine_flags(column: Column) -> PolarsResult<Column> {
    let flags: BooleanChunked = match column.dtype() {
        DataType::Boolean => column.bool()?.clone(),
        dtype if dtype.is_primitive_numeric() => {
            let values = column.cast(&DataType::Float64)?;
            values.f64()?.iter().map(|v| v.map(|v| v != 0.0)).collect()
        }
        // Text (and anything else, as text).
        _ => {
            let text = column.cast(&DataType::String)?;
            text.str()?
                .iter()
                .map(|v| v.and_then(parse::boolean))
                .collect()
        }
    };
    Ok(flags.with_name("machine".into()).into_column())
}

/// The key of an address cell ([`key_of`], without its allocation for ASCII cells), or the
/// problem with the cell.
pub(super) fn address_key(raw: &str, buffer: &mut String) -> std::result::Result<u128, Problem> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Problem::EmptyEmail);
    }
    let key = if trimmed.is_ascii() {
        trimmed.contains('@').then(|| {
            buffer.clear();
            buffer.push_str(trimmed);
            buffer.make_ascii_lowercase();
            key(buffer)
        })
    } else {
        key_of(trimmed)
    };
    key.ok_or(Problem::NotAnAddress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keys_match_contact_keys() {
        let mut buffer = String::new();
        for raw in [
            "a@b.co",
            "  John.Doe@GMail.COM ",
            "x.y+z@Bücher.DE",
            "Ünï@ex.com",
            "jeff@臺網中心.tw",
        ] {
            assert_eq!(
                address_key(raw, &mut buffer),
                Ok(key_of(raw).unwrap()),
                "{raw}"
            );
        }
        assert_eq!(address_key("  ", &mut buffer), Err(Problem::EmptyEmail));
        assert_eq!(
            address_key("no-at-sign", &mut buffer),
            Err(Problem::NotAnAddress)
        );
    }
}
