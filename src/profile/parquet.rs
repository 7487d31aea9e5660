//! The profile file (`profiles.parquet`): written from and read into [`Stored`] profiles with
//! polars, column by column as [`FIELDS`] says.
//!
//! Consumes profiles with their addresses (writing) or a Parquet file from listwash or from
//! any engine that ran the generated SQL (reading: integer columns of any width, extra columns
//! ignored); produces the file, or the profiles in file order with the row of each. Error
//! messages name the file, the column and the row, never a cell.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use polars::prelude::*;

use super::schema::{Cell, FIELDS, Kind, Stored};
use crate::error::{Error, Result};

/// The address column.
pub const EMAIL: &str = "email";

/// The file metadata key holding the `scanner_click_seconds` the profiles were computed with
/// (written by listwash; files from other engines have none).
pub const SCANNER_KEY: &str = "listwash.scanner_click_seconds";

fn error(path: &Path, message: impl Into<String>) -> Error {
    Error::Profiles {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The polars type of a column.
fn dtype(kind: Kind) -> DataType {
    match kind {
        Kind::Count | Kind::MaybeCount | Kind::Time => DataType::Int64,
        Kind::Code => DataType::String,
        Kind::Flag => DataType::Boolean,
    }
}

/// The profile file's polars schema.
pub fn schema() -> Schema {
    std::iter::once(Field::new(EMAIL.into(), DataType::String))
        .chain(
            FIELDS
                .iter()
                .map(|f| Field::new(f.name.into(), dtype(f.kind))),
        )
        .collect()
}

/// Writes `profiles` (sorted by address) to `path`, replacing it whole once complete, with
/// the `scanner_click_seconds` they were computed with, when known, in the file's metadata.
///
/// # Errors
/// When the file cannot be written.
pub fn write(path: &Path, profiles: &[(Box<str>, Stored)], scanner: Option<u32>) -> Result<()> {
    let height = profiles.len();
    let mut columns = Vec::with_capacity(FIELDS.len() + 1);
    let emails: Vec<&str> = profiles.iter().map(|(e, _)| &**e).collect();
    columns.push(Column::new(EMAIL.into(), emails));
    for field in FIELDS {
        let cells = profiles.iter().map(|(_, s)| (field.get)(s));
        let column = match field.kind {
            Kind::Count | Kind::MaybeCount | Kind::Time => Column::new(
                field.name.into(),
                cells
                    .map(|c| match c {
                        Cell::Int(v) => v,
                        _ => None,
                    })
                    .collect::<Vec<Option<i64>>>(),
            ),
            Kind::Code => Column::new(
                field.name.into(),
                cells
                    .map(|c| match c {
                        Cell::Text(v) => v,
                        _ => None,
                    })
                    .collect::<Vec<Option<String>>>(),
            ),
            Kind::Flag => Column::new(
                field.name.into(),
                cells
                    .map(|c| matches!(c, Cell::Flag(true)))
                    .collect::<Vec<bool>>(),
            ),
        };
        columns.push(column);
    }
    let failed = |what: &str| {
        error(
            path,
            format!(
                "cannot write the Parquet file ({what}); check the folder and the free space, then run again"
            ),
        )
    };
    let mut frame = DataFrame::new(height, columns).map_err(|_| failed("building the table"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| failed(&e.to_string()))?;
    let file = temp.reopen().map_err(|e| failed(&e.to_string()))?;
    let metadata = scanner.map(|seconds| {
        KeyValueMetadata::from_static(vec![(SCANNER_KEY.into(), seconds.to_string())])
    });
    ParquetWriter::new(BufWriter::new(file))
        .with_key_value_metadata(metadata)
        .finish(&mut frame)
        .map_err(|_| failed("polars"))?;
    temp.persist(path)
        .map_err(|e| failed(&e.error.to_string()))?;
    Ok(())
}

/// A profile file's rows and the `scanner_click_seconds` it names (see [`SCANNER_KEY`]).
pub type ProfileFile = (Vec<(String, Stored)>, Option<u32>);

/// Reads a profile file: every row's address and profile, in file order, and the
/// `scanner_click_seconds` its metadata names.
///
/// # Errors
/// When the file is not Parquet, lacks a column of [`FIELDS`], or holds a value of the wrong
/// type (a negative count, a null where the column takes none).
pub fn read(path: &Path) -> Result<ProfileFile> {
    let file = File::open(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut reader = ParquetReader::new(file);
    let scanner = reader.get_metadata().ok().and_then(|m| {
        m.key_value_metadata()
            .as_ref()?
            .iter()
            .find(|kv| kv.key == SCANNER_KEY)?
            .value
            .as_deref()?
            .parse()
            .ok()
    });
    let frame = reader.finish().map_err(|_| {
        error(
            path,
            "not a readable Parquet file; give a file written by `listwash profiles` or by the query of `listwash profiles --sql`",
        )
    })?;
    let column = |name: &str, kind: DataType| -> Result<Column> {
        let found = frame.column(name).map_err(|_| {
            error(
                path,
                format!(
                    "no `{name}` column; a profile file has the columns `listwash profiles --sql` returns (see the README's profile table)"
                ),
            )
        })?;
        found.strict_cast(&kind).map_err(|_| {
            error(
                path,
                format!(
                    "the `{name}` column is {}, not {kind}; write it as the README's profile table says",
                    found.dtype()
                ),
            )
        })
    };
    let emails = column(EMAIL, DataType::String)?;
    let emails = emails
        .str()
        .map_err(|_| error(path, "internal error: email cast"))?;
    let mut rows: Vec<(String, Stored)> = emails
        .iter()
        .map(|e| (e.unwrap_or("").to_string(), Stored::default()))
        .collect();
    for field in FIELDS {
        let values = column(field.name, dtype(field.kind))?;
        let cells: Box<dyn Iterator<Item = Cell>> = match field.kind {
            Kind::Count | Kind::MaybeCount | Kind::Time => Box::new(
                values
                    .i64()
                    .map_err(|_| error(path, "internal error: integer cast"))?
                    .iter()
                    .map(Cell::Int),
            ),
            Kind::Code => Box::new(
                values
                    .str()
                    .map_err(|_| error(path, "internal error: text cast"))?
                    .iter()
                    .map(|v| Cell::Text(v.map(str::to_string))),
            ),
            Kind::Flag => Box::new(
                values
                    .bool()
                    .map_err(|_| error(path, "internal error: flag cast"))?
                    .iter()
                    .map(|v| Cell::Flag(v.unwrap_or(false))),
            ),
        };
        for (row, ((_, stored), cell)) in rows.iter_mut().zip(cells).enumerate() {
            let null_count = field.kind == Kind::Count && cell == Cell::Int(None);
            if null_count || !(field.set)(stored, cell) {
                return Err(error(
                    path,
                    format!(
                        "row {}: the `{}` column holds a null or negative count; counts are 0 or more",
                        row + 1,
                        field.name
                    ),
                ));
            }
        }
    }
    Ok((rows, scanner))
}
