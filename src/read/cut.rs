//! Cutting the decoded contact text into batches of whole records.
//!
//! Consumes the decoded stream of an [`Input`]; produces [`Batch`]es whose text ends at a
//! record boundary (found with [`crate::columns::QuoteTracker`]), and records too long to be
//! a row, read past without being held. At the end of a regular file, checks that the file
//! did not change while it was read. Never splits records into fields (see `batch`).

use std::io::Read;

use super::batch::{Batch, Overlong, RAW_LIMIT};
use super::input::Input;
use super::{input_error, read_error};
use crate::error::Result;

/// Bytes read from the decoded stream at a time while looking for a record boundary.
pub(super) const READ_BYTES: usize = 1 << 16;

impl Input {
    /// Reads about `target` bytes of whole records into `batch` (cleared first), without
    /// parsing them; returns false once the input is exhausted (the batch may still hold its
    /// last records).
    ///
    /// # Errors
    /// Only when the input itself cannot be read further (I/O error, corrupt gzip).
    pub fn read_chunk(&mut self, target: usize, batch: &mut Batch) -> Result<bool> {
        batch.clear();
        if self.finished {
            return Ok(false);
        }
        let target = target.max(1);
        // Room for the whole batch at once: no copying as the buffer grows.
        self.pending
            .reserve((target.min(1 << 26) + READ_BYTES).saturating_sub(self.pending.len()));
        while !self.eof && (self.pending.len() < target || !self.has_boundary()) {
            if !self.has_boundary() && self.pending.len() > self.shape.longest_record().max(target)
            {
                return self.skip_overlong(batch);
            }
            let want = target.saturating_sub(self.pending.len()).max(READ_BYTES);
            self.fill(want)?;
        }
        // Swap buffers rather than copy the batch: the pending text becomes the batch's, and
        // only the partial record after the cut moves back.
        std::mem::swap(&mut batch.text, &mut self.pending);
        self.pending.clear();
        if !self.eof {
            let boundary = self.boundary.unwrap_or(self.pending_base);
            let cut = usize::try_from(boundary - self.pending_base + 1)
                .unwrap_or(batch.text.len())
                .min(batch.text.len());
            self.pending.extend_from_slice(&batch.text[cut..]);
            batch.text.truncate(cut);
        } else {
            self.finished = true;
            batch.unterminated = self.quotes.in_quotes();
        }
        batch.first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &batch.text).count() as u64;
        self.pending_base += batch.text.len() as u64;
        batch.end_offset = self.pending_base;
        Ok(!self.finished)
    }

    /// Reads past a record longer than [`Shape::longest_record`] without holding it: keeps its
    /// first bytes for `rejected.csv`, follows the quoting to its end (or the input's), and
    /// puts it in `batch` as one rejected record. Memory stays bounded on hostile input.
    fn skip_overlong(&mut self, batch: &mut Batch) -> Result<bool> {
        batch.first_line = self.next_line;
        batch.text.clear();
        let mut bytes = 0u64;
        loop {
            // All pending text is the record's, up to the first boundary read (its end).
            let end = self.first_boundary.filter(|&b| b >= self.pending_base);
            let cut = end
                .and_then(|b| usize::try_from(b - self.pending_base + 1).ok())
                .unwrap_or(self.pending.len())
                .min(self.pending.len());
            // Only the record's start is kept, for `rejected.csv`.
            let room = (RAW_LIMIT + 4).saturating_sub(batch.text.len());
            batch.text.extend_from_slice(&self.pending[..cut.min(room)]);
            self.next_line += memchr::memchr_iter(b'\n', &self.pending[..cut]).count() as u64;
            bytes += cut as u64;
            self.pending_base += cut as u64;
            self.pending.drain(..cut);
            if end.is_some() {
                break; // the rest of the pending text is the next records'
            }
            if self.eof {
                self.finished = true;
                break;
            }
            self.fill(READ_BYTES)?;
        }
        let lead = batch
            .text
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        let terminator = u64::from(!self.finished);
        batch.overlong = Some(Overlong {
            bytes: bytes.saturating_sub(lead as u64 + terminator),
            unterminated: self.finished && self.quotes.in_quotes(),
        });
        batch.end_offset = self.pending_base;
        Ok(!self.finished)
    }

    /// Returns true if and only if a record boundary is known inside the pending text.
    pub(super) fn has_boundary(&self) -> bool {
        self.boundary.is_some_and(|b| b >= self.pending_base)
    }

    /// Reads up to `want` more bytes into the pending text and follows their quoting.
    pub(super) fn fill(&mut self, want: usize) -> Result<()> {
        let old = self.pending.len();
        let n = (&mut self.stream)
            .take(want as u64)
            .read_to_end(&mut self.pending)
            .map_err(|e| read_error(&self.path, e, self.dialect.gzip))?;
        if n < want {
            self.eof = true;
            self.check_unchanged()?;
        }
        let base = self.pending_base + old as u64;
        let (first, last) = self.quotes.feed(&self.pending[old..]);
        self.first_boundary = first.map(|at| base + at as u64);
        if let Some(at) = last {
            self.boundary = Some(base + at as u64);
        }
        Ok(())
    }

    /// At the end of the input: fails when the file shrank or changed while it was read, so
    /// that a truncated file is never taken for a complete one.
    // See: #16 item 6
    fn check_unchanged(&self) -> Result<()> {
        let Some(watch) = &self.watch else {
            return Ok(());
        };
        let read = self.raw_bytes.load(std::sync::atomic::Ordering::Relaxed);
        match watch.changed(Some(read)) {
            None => Ok(()),
            Some(what) => Err(input_error(
                &self.path,
                &format!(
                    "{what}: another program wrote to it; run again once the file is complete (or work on a copy)"
                ),
            )),
        }
    }
}
