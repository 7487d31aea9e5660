//! The contact file's plan beyond the address: its signup, vendor status and consent columns
//! ([`ContactColumns`]) and the day/month order of each signup column, decided once per file
//! from the first rows.
//!
//! Consumes the header and the text read ahead after it (about [`SAMPLE_BYTES`], never more
//! than the file has); produces a [`ContactPlan`] that the decision stage reads each row with.
//! Never judges a row and never keeps a cell.

use std::sync::Arc;

use chrono::NaiveDate;

use super::input::Input;
pub use crate::columns::contacts::{ConsentEvidence, ContactColumns, StatusHit};
use crate::dates::{self, ColumnOrder, DateOrder, OrderVote};
use crate::error::Result;

/// How much text after the header is read ahead to decide the date columns' order.
pub const SAMPLE_BYTES: usize = 1 << 20;

/// How many rows the order is decided from, at most.
const SAMPLE_ROWS: u64 = 20_000;

/// What the decision stage needs to read a contact row's signup, status and consent cells.
#[derive(Debug, Clone, Default)]
pub struct ContactPlan {
    /// The columns found in the header.
    pub columns: ContactColumns,
    /// Each signup column's day/month order, in the order of [`ContactColumns::signup_columns`].
    pub orders: Vec<(usize, ColumnOrder)>,
    /// `--require-consent`: rows without consent evidence go to review.
    pub require_consent: bool,
}

impl ContactPlan {
    /// The first signup cell of a row that is not empty (per row, in order of preference),
    /// and its column; `cell(i)` gives column `i`.
    pub fn signup_cell<'a>(&self, cell: impl Fn(usize) -> &'a str) -> Option<(usize, &'a str)> {
        self.orders.iter().find_map(|(index, _)| {
            let text = cell(*index).trim();
            (!text.is_empty()).then_some((*index, text))
        })
    }

    /// The row's first signup column when its cell is a plain `YYYY-MM-DD` date (after ASCII
    /// white space), with the day it names (`None` for a day that does not exist): the
    /// common case, read from the bytes without the general path. `None` otherwise (then
    /// [`ContactPlan::signup_cell`] and [`ContactPlan::read_signup`] decide).
    pub fn plain_iso_signup(
        &self,
        row: &crate::read::Row<'_>,
    ) -> Option<(usize, Option<dates::Day>)> {
        let (index, _) = self.orders.first()?;
        let day = dates::iso_date(row.field(*index)?.trim_ascii())?;
        Some((*index, day))
    }

    /// Reads a signup cell of column `index`: `None` when it is not a date.
    pub fn read_signup(&self, index: usize, text: &str) -> Option<NaiveDate> {
        let order = self
            .orders
            .iter()
            .find(|(i, _)| *i == index)
            .map_or(DateOrder::Dmy, |(_, o)| o.order);
        dates::read_date(text, order)
    }
}

impl Input {
    /// Finds the contact columns in the header just read and, when there are signup
    /// columns, reads ahead to decide their order. `signup` is `--signup-column`'s index.
    pub(super) fn plan_contacts(
        &mut self,
        names: &[String],
        signup: Option<usize>,
        given: Option<DateOrder>,
        require_consent: bool,
    ) -> Result<()> {
        let columns = ContactColumns::find(names, signup);
        let wanted: Vec<usize> = columns.signup_columns().collect();
        let mut votes = vec![OrderVote::default(); wanted.len()];
        if !wanted.is_empty() {
            while !self.eof && self.pending.len() < SAMPLE_BYTES {
                self.fill(SAMPLE_BYTES - self.pending.len())?;
            }
            let whole = match (self.eof, self.boundary) {
                (true, _) => self.pending.len(),
                (false, Some(b)) if b >= self.pending_base => {
                    usize::try_from(b - self.pending_base + 1).unwrap_or(0)
                }
                _ => 0,
            };
            let text = &self.pending[..whole.min(self.pending.len())];
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(self.shape.delimiter)
                .has_headers(false)
                .flexible(true)
                .from_reader(text);
            let mut record = csv::StringRecord::new();
            let mut rows = 0;
            while rows < SAMPLE_ROWS && matches!(reader.read_record(&mut record), Ok(true)) {
                rows += 1;
                for (vote, &index) in votes.iter_mut().zip(&wanted) {
                    vote.add(record.get(index).unwrap_or_default());
                }
            }
        }
        let orders = wanted
            .iter()
            .zip(&votes)
            .map(|(&index, vote)| (index, vote.decide(given)))
            .collect();
        self.contacts = Arc::new(ContactPlan {
            columns,
            orders,
            require_consent,
        });
        Ok(())
    }
}
