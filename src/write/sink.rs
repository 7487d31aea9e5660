//! One output file being written in the run's private folder, plain or gzip-compressed
//! (`--compress`). Consumes bytes; produces the synced file, still open, for publishing.
//! Never writes outside the private folder.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::create_private;
use super::staging::Staging;
use crate::error::{Error, Result};

/// One output being written in the private folder.
pub(super) struct Sink {
    pub(super) out: SinkWriter,
    /// The final path, for messages.
    path: PathBuf,
    /// Its name in the private folder.
    pub(super) staged: String,
}

/// A sink's file, plain or gzip-compressed (`--compress`).
pub(super) enum SinkWriter {
    Plain(BufWriter<File>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<File>>>),
}

impl SinkWriter {
    pub(super) fn file(&self) -> &File {
        match self {
            SinkWriter::Plain(out) => out.get_ref(),
            SinkWriter::Gzip(out) => out.get_ref().get_ref(),
        }
    }
}

impl Sink {
    pub(super) fn create(staging: &Staging, name: &str, bom: bool, compress: bool) -> Result<Sink> {
        let path = staging.out_path(name);
        let file = create_private(&staging.file(name)).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        let buffered = BufWriter::with_capacity(1 << 18, file);
        let out = if compress {
            SinkWriter::Gzip(Box::new(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::default(),
            )))
        } else {
            SinkWriter::Plain(buffered)
        };
        let mut sink = Sink {
            out,
            path,
            staged: name.to_string(),
        };
        if bom {
            sink.write(b"\xEF\xBB\xBF")?;
        }
        Ok(sink)
    }

    /// Called twice for every row (its text, then its reason columns): inlined, so that a
    /// write that fits the buffer is a copy.
    #[inline]
    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.out {
            SinkWriter::Plain(out) => out.write_all(bytes),
            SinkWriter::Gzip(out) => out.write_all(bytes),
        }
        .map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Flushes and syncs the file; returns it (still open) with its final path.
    pub(super) fn finish(self) -> Result<(File, PathBuf)> {
        let Sink { out, path, .. } = self;
        let buffered = match out {
            SinkWriter::Plain(out) => out,
            SinkWriter::Gzip(out) => out.finish().map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?,
        };
        let file = buffered.into_inner().map_err(|e| Error::Write {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok((file, path))
    }
}
