//! The contact file's header: its record, and the address, signup, status and consent columns
//! in it.
//!
//! Consumes the text before the first record boundary; produces the header record and the
//! column indexes, found with [`crate::columns`]. Messages about a missing column list the
//! header's names (escaped) only when the first line reads as a header, never a row's cells.

use super::input::Input;
use super::{ReadOptions, input_error};
use crate::columns::{self, HeaderDescription};
use crate::error::{Error, Result};

impl Input {
    /// Reads the header record, and finds the address and signup columns in it.
    pub(super) fn read_header(&mut self, options: &ReadOptions) -> Result<()> {
        let path = self.path.clone();
        while !self.eof && !self.has_boundary() {
            self.fill(super::cut::READ_BYTES)?;
        }
        let header = self.take_header().ok_or_else(|| {
            input_error(
                &path,
                "is empty; expected a header line such as `email,first_name`",
            )
        })?;
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let email_index = match &options.email_column {
            Some(name) => columns::find_named(&names, name)
                .ok_or_else(|| self.missing(&names, name, "--email-column"))?,
            None => columns::find_known(&names, &columns::EMAIL)
                .ok_or_else(|| self.no_address_column(&names))?,
        };
        let named_signup = match &options.signup_column {
            Some(name) => Some(
                columns::find_named(&names, name)
                    .ok_or_else(|| self.missing(&names, name, "--signup-column"))?,
            ),
            None => None,
        };
        self.plan_contacts(
            &names,
            named_signup,
            options.date_order,
            options.require_consent,
        )?;
        let signup_index = self.contacts.columns.signup_columns().next();
        self.dialect.email_column = names[email_index].clone();
        self.dialect.signup_column = signup_index.map(|i| names[i].clone());
        self.email_index = email_index;
        self.signup_index = signup_index;
        self.shape.width = header.len();
        self.header = header;
        Ok(())
    }

    /// No column of `names` is a known address column.
    // See: #16 items 7 and 9
    fn no_address_column(&self, names: &[String]) -> Error {
        let message = match columns::describe_header(names) {
            HeaderDescription::Names(names) => format!(
                "no address column found in the header ({names}); name it `email` or pass --email-column NAME"
            ),
            data @ HeaderDescription::LooksLikeData { .. } => format!(
                "no address column found: {data}; add a header line such as `email,first_name` (then --email-column NAME can name the address column)"
            ),
        };
        input_error(&self.path, &message)
    }

    /// The column a `flag` named is not in `names`.
    // See: #16 items 7 and 9
    fn missing(&self, names: &[String], name: &str, flag: &str) -> Error {
        let name = columns::escape(name);
        let message = match columns::describe_header(names) {
            description @ HeaderDescription::Names(_) => format!(
                "has no column `{name}` ({flag}); {description}; pass one of these names to {flag}"
            ),
            data @ HeaderDescription::LooksLikeData { .. } => format!(
                "has no column `{name}` ({flag}): {data}; add a header line naming the columns"
            ),
        };
        input_error(&self.path, &message)
    }

    /// Parses the first record of the pending text as the header and drops its text.
    fn take_header(&mut self) -> Option<csv::ByteRecord> {
        // As the `csv` crate reads it: leading blank lines and a BOM skipped.
        let (header, used) = columns::header_record(&self.pending, self.shape.delimiter)?;
        let consumed = used.min(self.pending.len());
        self.next_line += memchr::memchr_iter(b'\n', &self.pending[..consumed]).count() as u64;
        self.pending.drain(..consumed);
        self.pending_base += consumed as u64;
        Some(header)
    }
}
