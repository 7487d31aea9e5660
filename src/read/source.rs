//! Opening the contact byte stream: gzip, text encoding, delimiter, and a watch on the file.
//!
//! Consumes a byte stream (a file or standard input); produces the decoded UTF-8 text stream
//! with the encoding, byte-order mark, compression and delimiter detected from its first MiB,
//! and a counter of the bytes read. [`Watch`] notices a file that shrinks or changes while it
//! is read. Never parses records.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use flate2::read::MultiGzDecoder;

use super::{input_error, read_error};
use crate::columns;
use crate::error::{Error, Result};

/// Bytes of the decoded input the encoding and delimiter are detected from.
const SNIFF_BYTES: u64 = 1 << 20;

/// A byte stream, decoded to UTF-8, and what was found out about it.
pub(super) struct Decoded {
    /// The text, without a byte-order mark.
    pub(super) stream: Box<dyn Read + Send>,
    /// Bytes read from the underlying stream so far (compressed bytes for gzip).
    pub(super) raw_bytes: Arc<AtomicU64>,
    /// The encoding detected.
    pub(super) encoding: &'static Encoding,
    /// The input started with a byte-order mark.
    pub(super) bom: bool,
    /// The input was gzip-compressed.
    pub(super) gzip: bool,
    /// The field delimiter sniffed from the first line.
    pub(super) delimiter: u8,
}

/// Opens `base`: gzip, encoding (from its first MiB) and delimiter (from its first line).
///
/// # Errors
/// An unreadable, empty or binary stream.
pub(super) fn decode(base: Box<dyn Read + Send>, path: &Path) -> Result<Decoded> {
    let raw_bytes = Arc::new(AtomicU64::new(0));
    let counted = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: base,
            count: raw_bytes.clone(),
        },
    );
    let (mut stream, gzip) = maybe_gunzip(counted, path)?;

    let mut prefix = Vec::new();
    (&mut stream)
        .take(SNIFF_BYTES)
        .read_to_end(&mut prefix)
        .map_err(|e| read_error(path, e, gzip))?;
    if prefix.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(input_error(
            path,
            "is empty; expected a header line such as `email,first_name`",
        ));
    }
    let (encoding, bom) = detect_encoding(&prefix, path)?;
    let delimiter =
        columns::sniff_delimiter(encoding.decode_without_bom_handling(&prefix).0.as_bytes());
    let rest: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(stream));
    let decoded: Box<dyn Read + Send> = if encoding == UTF_8 {
        Box::new(SkipBom {
            inner: rest,
            skip: if bom { 3 } else { 0 },
        })
    } else {
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .bom_override(true)
                .build(rest),
        )
    };
    Ok(Decoded {
        stream: decoded,
        raw_bytes,
        encoding,
        bom,
        gzip,
        delimiter,
    })
}

/// A regular file's size and modification time when it was opened, to tell at its end
/// whether another program truncated, rewrote or extended it meanwhile.
// See: #16 item 6
#[derive(Debug)]
pub(crate) struct Watch {
    file: File,
    len: u64,
    modified: Option<SystemTime>,
}

impl Watch {
    /// Watches `file` (a handle to the file being read) if it is a regular file; pipes and
    /// devices have no size to compare.
    pub(crate) fn new(file: &File) -> Option<Watch> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        Some(Watch {
            file: file.try_clone().ok()?,
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// Once the whole file has been read (`read` bytes of it, when known: a decompressor may
    /// leave trailing bytes unread): `None` when it is unchanged, else what happened, for a
    /// message.
    pub(crate) fn changed(&self, read: Option<u64>) -> Option<String> {
        let read = read.unwrap_or(self.len);
        let now = self.file.metadata().ok();
        let (len, modified) = match &now {
            Some(meta) => (meta.len(), meta.modified().ok()),
            None => (self.len, self.modified),
        };
        if read == self.len && len == self.len && modified == self.modified {
            return None;
        }
        Some(if len < self.len || read < self.len {
            format!(
                "was truncated while it was read ({} bytes when opened, {len} bytes now, {read} bytes read)",
                self.len
            )
        } else {
            format!(
                "changed while it was read ({} bytes when opened, {len} bytes now)",
                self.len
            )
        })
    }
}

/// Counts the bytes read from the underlying file (compressed size for gzip).
pub(crate) struct Counting<R> {
    /// The stream counted.
    pub(crate) inner: R,
    /// Bytes read from it so far.
    pub(crate) count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn maybe_gunzip<R: io::BufRead + Send + 'static>(
    mut reader: R,
    path: &Path,
) -> Result<(Box<dyn Read + Send>, bool)> {
    let head = io::BufRead::fill_buf(&mut reader).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((
            Box::new(BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(reader),
            )),
            true,
        ))
    } else {
        Ok((Box::new(reader), false))
    }
}

/// Picks the encoding: a BOM wins; else UTF-8 if the prefix is valid; else Windows-1252.
/// Binary formats are refused with the fix.
fn detect_encoding(prefix: &[u8], path: &Path) -> Result<(&'static Encoding, bool)> {
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok((UTF_8, true));
    }
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return Ok((UTF_16LE, true));
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return Ok((UTF_16BE, true));
    }
    let kinds: &[(&[u8], &str)] = &[
        (b"\x89PNG", "a PNG image"),
        (b"%PDF", "a PDF document"),
        (
            b"PK\x03\x04",
            "a ZIP archive or Excel workbook (.xlsx); save it as CSV first",
        ),
        (
            b"\xD0\xCF\x11\xE0",
            "an old Excel workbook (.xls); save it as CSV first",
        ),
        (b"PAR1", "a Parquet file; contacts must be CSV"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"BZh", "bzip2-compressed; decompress it or use gzip"),
        (b"\xFD7zXZ", "xz-compressed; decompress it or use gzip"),
        (
            b"\x28\xB5\x2F\xFD",
            "zstd-compressed; decompress it or use gzip",
        ),
    ];
    if let Some((_, what)) = kinds.iter().find(|(magic, _)| prefix.starts_with(magic)) {
        return Err(input_error(
            path,
            &format!("is not a CSV file: it looks like {what}"),
        ));
    }
    let sample = &prefix[..prefix.len().min(8192)];
    let nuls = sample.iter().filter(|&&b| b == 0).count();
    if nuls * 4 > sample.len() {
        return Err(input_error(
            path,
            "is not a CSV file: it holds binary data (save or export it as CSV text)",
        ));
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => Ok((UTF_8, false)),
        // A multi-byte character cut by the end of the sample is still UTF-8.
        Err(e) if e.error_len().is_none() => Ok((UTF_8, false)),
        Err(_) => Ok((WINDOWS_1252, false)),
    }
}

/// Skips a UTF-8 byte-order mark.
struct SkipBom<R> {
    inner: R,
    skip: usize,
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.skip > 0 {
            let mut bom = [0u8; 3];
            let n = self.inner.read(&mut bom[..self.skip])?;
            if n == 0 {
                return Ok(0);
            }
            self.skip -= n;
        }
        self.inner.read(buf)
    }
}
