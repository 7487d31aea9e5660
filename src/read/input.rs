//! The open contact file: opening it, and what it holds (header, columns, dialect, shape).
//!
//! Consumes an [`InputSource`] or any byte stream; produces an [`Input`] positioned after its
//! header, which `cut` then reads in batches. Never parses data records.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::batch::Batch;
use super::source::{self, Decoded, Watch};
use super::{Dialect, InputSource, ReadOptions, Shape, input_error};
use crate::columns::QuoteTracker;
use crate::error::{Error, Result};

/// An open contact file, positioned after its header.
pub struct Input {
    /// The file, when it is a regular file: it must not change while it is read.
    pub(super) watch: Option<Watch>,
    pub(super) stream: Box<dyn Read + Send>,
    pub(super) path: PathBuf,
    pub(super) header: csv::ByteRecord,
    pub(super) email_index: usize,
    pub(super) signup_index: Option<usize>,
    /// The signup, status and consent columns, and the signup columns' date orders.
    pub(super) contacts: Arc<super::ContactPlan>,
    pub(super) dialect: Dialect,
    pub(super) raw_bytes: Arc<AtomicU64>,
    pub(super) shape: Shape,
    /// Decoded text read but not yet handed out in a batch.
    pub(super) pending: Vec<u8>,
    /// The decoded-stream offset of `pending[0]`.
    pub(super) pending_base: u64,
    /// The quoting state of everything read so far.
    pub(super) quotes: QuoteTracker,
    /// The decoded-stream offset of the last line end read that is outside quotes (a record
    /// boundary).
    pub(super) boundary: Option<u64>,
    /// The first such line end of the text read last.
    pub(super) first_boundary: Option<u64>,
    /// The physical line of `pending[0]`.
    pub(super) next_line: u64,
    pub(super) eof: bool,
    pub(super) finished: bool,
}

impl Input {
    /// Opens the input, detects compression, encoding and delimiter, and reads the header.
    ///
    /// # Errors
    /// A missing, unreadable, empty, binary or header-less input, or no address column.
    pub fn open(source: &InputSource, options: &ReadOptions) -> Result<Input> {
        let path = source.display_path();
        let mut watch = None;
        let base: Box<dyn Read + Send> = match source {
            InputSource::Path(p) => {
                let meta = std::fs::metadata(p).map_err(|source| Error::Read {
                    path: p.clone(),
                    source,
                })?;
                if meta.is_dir() {
                    return Err(input_error(
                        &path,
                        "is a directory; give the contact CSV file inside it",
                    ));
                }
                let file = File::open(p).map_err(|source| Error::Read {
                    path: p.clone(),
                    source,
                })?;
                watch = Watch::new(&file);
                Box::new(file)
            }
            InputSource::Stdin => Box::new(io::stdin()),
        };
        Input::from_stream(base, &path, options, watch)
    }

    /// Reads contacts from any byte stream; `path` names it in messages.
    ///
    /// # Errors
    /// As [`Input::open`], but for the file-system checks.
    pub fn from_reader(
        base: Box<dyn Read + Send>,
        path: &Path,
        options: &ReadOptions,
    ) -> Result<Input> {
        Input::from_stream(base, path, options, None)
    }

    /// [`Input::from_reader`], watching the file being read when there is one.
    fn from_stream(
        base: Box<dyn Read + Send>,
        path: &Path,
        options: &ReadOptions,
        watch: Option<Watch>,
    ) -> Result<Input> {
        let path = path.to_path_buf();
        let Decoded {
            stream,
            raw_bytes,
            encoding,
            bom,
            gzip,
            delimiter,
        } = source::decode(base, &path)?;
        let mut input = Input {
            watch,
            stream,
            path,
            header: csv::ByteRecord::new(),
            email_index: 0,
            signup_index: None,
            contacts: Arc::default(),
            dialect: Dialect {
                encoding: encoding.name(),
                bom,
                gzip,
                delimiter: (delimiter as char).to_string(),
                email_column: String::new(),
                signup_column: None,
            },
            raw_bytes,
            shape: Shape {
                width: 0,
                delimiter,
                max_field_bytes: options.max_field_bytes,
            },
            pending: Vec::new(),
            pending_base: 0,
            quotes: QuoteTracker::new(delimiter),
            boundary: None,
            first_boundary: None,
            next_line: 1,
            eof: false,
            finished: false,
        };
        input.read_header(options)?;
        Ok(input)
    }

    /// The header record.
    pub fn header(&self) -> &csv::ByteRecord {
        &self.header
    }

    /// The address column's index.
    pub fn email_index(&self) -> usize {
        self.email_index
    }

    /// The signup column's index, if any.
    pub fn signup_index(&self) -> Option<usize> {
        self.signup_index
    }

    /// The contact columns beyond the address, and how to read their dates.
    pub fn contacts(&self) -> Arc<super::ContactPlan> {
        self.contacts.clone()
    }

    /// How the input was read.
    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// The field delimiter.
    pub fn delimiter(&self) -> u8 {
        self.shape.delimiter
    }

    /// What every record must look like (for [`Batch::parse`]).
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// A shared counter of the bytes read, for progress reporting from another thread.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.raw_bytes.clone()
    }

    /// Reads about `target` bytes of whole records into `batch` and parses them; returns
    /// false once the input is exhausted (the batch may still hold its last records).
    ///
    /// # Errors
    /// Only when the input itself cannot be read further (I/O error, corrupt gzip).
    pub fn read_batch(&mut self, target: usize, batch: &mut Batch) -> Result<bool> {
        let more = self.read_chunk(target, batch)?;
        batch.parse(&self.shape);
        Ok(more)
    }
}
