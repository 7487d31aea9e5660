//! `--output-format parquet`: turns a finished output, written as CSV in the run's private
//! folder, into a Parquet file next to it.
//!
//! Consumes the private CSV (the exact text the CSV output would hold, without a BOM);
//! produces a Parquet file with one text (`String`) column per CSV column, in row groups of
//! [`ROWS_PER_GROUP`] rows (an empty output: the columns and no row group), so memory stays
//! bounded whatever the output's size. `rejected` keeps `line` as an unsigned integer;
//! `review` and `suppressed` write `listwash_reason` as a categorical column (a handful of
//! codes over millions of rows: dictionary-encoded, and read back by polars as
//! `Categorical`). Never reads a cell into a message.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use polars::prelude::*;

/// Which output a CSV holds: decides the typed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `clean`: the input's columns only, all text.
    Plain,
    /// `review` / `suppressed`: the input's columns, then `listwash_reason` (categorical) and
    /// `listwash_detail` (text).
    Decided,
    /// `rejected`: `line` (unsigned integer), `error`, `raw`.
    Rejected,
}

impl Shape {
    /// The type of column `i` of `width`.
    fn dtype(self, i: usize, width: usize) -> DataType {
        match self {
            Shape::Rejected if i == 0 => DataType::UInt64,
            Shape::Decided if width >= 2 && i == width - 2 => {
                DataType::from_categories(Categories::global())
            }
            _ => DataType::String,
        }
    }
}

/// Rows held in memory and written as one row group.
const ROWS_PER_GROUP: usize = 65_536;

/// Column names for Parquet: the header's names as text, a repeated name suffixed `_2`,
/// `_3`, … (a Parquet file cannot hold two columns of one name).
fn column_names(header: &csv::ByteRecord) -> Vec<PlSmallStr> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for field in header {
        let base = String::from_utf8_lossy(field).into_owned();
        let mut name = base.clone();
        let mut n = 1;
        while names.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        names.push(name);
    }
    names.into_iter().map(PlSmallStr::from).collect()
}

/// Writes the CSV file `csv_path` (delimiter `delimiter`, with a header) as Parquet into
/// `out`, typing the columns as `shape` says.
///
/// Returns a message without cell content on failure.
pub(super) fn csv_to_parquet(
    csv_path: &Path,
    out: &File,
    delimiter: u8,
    shape: Shape,
) -> std::result::Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_path(csv_path)
        .map_err(|e| format!("cannot read the private CSV: {}", error_kind(&e)))?;
    let header = reader
        .byte_headers()
        .map_err(|e| format!("cannot read the private CSV's header: {}", error_kind(&e)))?
        .clone();
    let names = column_names(&header);
    let width = names.len();
    let dtypes: Vec<DataType> = (0..width).map(|i| shape.dtype(i, width)).collect();
    let schema: Schema = names
        .iter()
        .zip(&dtypes)
        .map(|(name, dtype)| Field::new(name.clone(), dtype.clone()))
        .collect();
    let mut writer = ParquetWriter::new(BufWriter::new(out))
        .batched(&schema)
        .map_err(|e| format!("cannot start the Parquet file: {e}"))?;
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); width];
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| format!("cannot read the private CSV: {}", error_kind(&e)))?;
        if more {
            if record.len() > width {
                return Err(format!(
                    "a record has {} fields, the header {width}",
                    record.len()
                ));
            }
            for (i, column) in columns.iter_mut().enumerate() {
                column.push(
                    record
                        .get(i)
                        .map(|cell| String::from_utf8_lossy(cell).into_owned()),
                );
            }
            rows += 1;
        }
        if rows == ROWS_PER_GROUP || (!more && rows > 0) {
            let frame = frame(&names, &dtypes, &mut columns, rows)?;
            writer
                .write_batch(&frame)
                .map_err(|e| format!("cannot write the Parquet file: {e}"))?;
            rows = 0;
        }
        if !more {
            break;
        }
    }
    writer
        .finish()
        .map_err(|e| format!("cannot finish the Parquet file: {e}"))?;
    Ok(())
}

/// One row group's frame from the buffered columns, which it empties.
fn frame(
    names: &[PlSmallStr],
    dtypes: &[DataType],
    columns: &mut [Vec<Option<String>>],
    rows: usize,
) -> std::result::Result<DataFrame, String> {
    let built = names
        .iter()
        .zip(dtypes)
        .zip(columns.iter_mut())
        .map(|((name, dtype), cells)| {
            let cells = std::mem::take(cells);
            match dtype {
                DataType::UInt64 => {
                    let lines: Vec<Option<u64>> = cells
                        .iter()
                        .map(|c| c.as_deref().and_then(|t| t.parse().ok()))
                        .collect();
                    Ok(Column::new(name.clone(), lines))
                }
                DataType::String => Ok(Column::new(name.clone(), cells)),
                _ => Column::new(name.clone(), cells).cast(dtype),
            }
        })
        .collect::<PolarsResult<Vec<Column>>>()
        .map_err(|e| format!("cannot build a Parquet row group: {e}"))?;
    DataFrame::new(rows, built).map_err(|e| format!("cannot build a Parquet row group: {e}"))
}

/// The kind of a CSV error, without the record it was about.
fn error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".into(),
        csv::ErrorKind::UnequalLengths { .. } => "unequal record lengths".into(),
        _ => "malformed CSV".into(),
    }
}
