//! Suppression lists: unsubscribes, complaints and erasure requests from other systems.
//!
//! Consumes `--suppress` files: plain addresses, or MD5 / SHA-1 / SHA-256 hex digests of the
//! normalised address (trimmed, lower-cased), one per line or in a CSV with an `email` or
//! `hash` column. Produces a [`SuppressionSet`] that answers whether an address is listed.
//! Only digests of addresses are kept for hashed lists; never touches the network.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use md5::Md5;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::normalize::{self, Normalized};

/// What one list held, for `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ListSummary {
    /// The file.
    pub path: PathBuf,
    /// Plain addresses read.
    pub addresses: u64,
    /// MD5 digests read.
    pub md5: u64,
    /// SHA-1 digests read.
    pub sha1: u64,
    /// SHA-256 digests read.
    pub sha256: u64,
    /// Lines that were neither an address nor a digest (skipped; their line numbers first).
    pub unreadable_lines: Vec<u64>,
}

/// All suppression lists of a run.
#[derive(Debug, Default)]
pub struct SuppressionSet {
    plain: HashSet<u128>,
    md5: HashSet<[u8; 16]>,
    sha1: HashSet<[u8; 20]>,
    sha256: HashSet<[u8; 32]>,
    summaries: Vec<ListSummary>,
}

impl SuppressionSet {
    /// Reads every list.
    ///
    /// # Errors
    /// When a file cannot be read, or holds nothing that looks like an address or digest.
    pub fn load(paths: &[PathBuf]) -> Result<SuppressionSet> {
        let mut set = SuppressionSet::default();
        for path in paths {
            set.load_one(path)?;
        }
        Ok(set)
    }

    fn load_one(&mut self, path: &Path) -> Result<()> {
        let file = std::fs::File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut summary = ListSummary {
            path: path.to_path_buf(),
            addresses: 0,
            md5: 0,
            sha1: 0,
            sha256: 0,
            unreadable_lines: Vec::new(),
        };
        let mut column: Option<usize> = None;
        let mut unreadable = 0u64;
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line_number = index as u64 + 1;
            let line = line.map_err(|e| Error::Suppression {
                path: path.to_path_buf(),
                message: format!("line {line_number}: {e} (save the list as UTF-8 text)"),
            })?;
            let line = line.trim_start_matches('\u{feff}');
            if index == 0 {
                // A CSV header names the column; a bare value on line 1 is data.
                let cells: Vec<String> = split_csv_line(line);
                let lower: Vec<String> = cells
                    .iter()
                    .map(|c| c.trim().to_ascii_lowercase())
                    .collect();
                if let Some(i) = lower.iter().position(|c| {
                    matches!(
                        c.as_str(),
                        "email"
                            | "email_address"
                            | "email address"
                            | "e-mail"
                            | "hash"
                            | "md5"
                            | "sha1"
                            | "sha256"
                            | "sha-256"
                            | "address"
                    )
                }) {
                    column = Some(i);
                    continue;
                }
                if cells.len() > 1 && !lower.iter().any(|c| c.contains('@') || is_hex_digest(c)) {
                    return Err(Error::Suppression {
                        path: path.to_path_buf(),
                        message: format!(
                            "no `email` or `hash` column in the header {cells:?}; name the column `email` or `hash`"
                        ),
                    });
                }
            }
            let value = match column {
                Some(i) => split_csv_line(line).into_iter().nth(i).unwrap_or_default(),
                None => line.to_string(),
            };
            let value = value.trim();
            if value.is_empty() || value.starts_with('#') {
                continue;
            }
            if self.insert(value, &mut summary) {
                continue;
            }
            unreadable += 1;
            if summary.unreadable_lines.len() < 10 {
                summary.unreadable_lines.push(line_number);
            }
        }
        let read = summary.addresses + summary.md5 + summary.sha1 + summary.sha256;
        if read == 0 && unreadable > 0 {
            return Err(Error::Suppression {
                path: path.to_path_buf(),
                message: "no line holds an address or an MD5/SHA-1/SHA-256 hex digest".into(),
            });
        }
        self.summaries.push(summary);
        Ok(())
    }

    /// Adds one entry; returns false if it is neither an address nor a digest.
    fn insert(&mut self, value: &str, summary: &mut ListSummary) -> bool {
        if value.contains('@') {
            return match normalize::normalize(value) {
                Some(n) => {
                    self.plain.insert(n.key());
                    summary.addresses += 1;
                    true
                }
                None => false,
            };
        }
        let Ok(bytes) = hex::decode(value) else {
            return false;
        };
        match bytes.len() {
            16 => {
                self.md5.insert(bytes.try_into().unwrap_or([0; 16]));
                summary.md5 += 1;
            }
            20 => {
                self.sha1.insert(bytes.try_into().unwrap_or([0; 20]));
                summary.sha1 += 1;
            }
            32 => {
                self.sha256.insert(bytes.try_into().unwrap_or([0; 32]));
                summary.sha256 += 1;
            }
            _ => return false,
        }
        true
    }

    /// Returns true if and only if no list was given.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty()
            && self.md5.is_empty()
            && self.sha1.is_empty()
            && self.sha256.is_empty()
    }

    /// What each list held.
    pub fn summaries(&self) -> &[ListSummary] {
        &self.summaries
    }

    /// Which kind of entry lists `address` (`raw` is the cell as written), if any.
    pub fn matches(&self, raw: &str, address: &Normalized) -> Option<&'static str> {
        if self.plain.contains(&address.key()) {
            return Some("address");
        }
        if self.md5.is_empty() && self.sha1.is_empty() && self.sha256.is_empty() {
            return None;
        }
        // Lists are hashed by other systems from the trimmed, lower-cased address; try that
        // form and our IDNA form where they differ.
        let simple = raw.trim().to_lowercase();
        let forms: &[&str] = if simple == address.as_str() {
            &[address.as_str()]
        } else {
            &[address.as_str(), &simple]
        };
        for form in forms {
            if !self.md5.is_empty()
                && self
                    .md5
                    .contains(&<[u8; 16]>::from(Md5::digest(form.as_bytes())))
            {
                return Some("MD5 digest");
            }
            if !self.sha1.is_empty()
                && self
                    .sha1
                    .contains(&<[u8; 20]>::from(Sha1::digest(form.as_bytes())))
            {
                return Some("SHA-1 digest");
            }
            if !self.sha256.is_empty()
                && self
                    .sha256
                    .contains(&<[u8; 32]>::from(Sha256::digest(form.as_bytes())))
            {
                return Some("SHA-256 digest");
            }
        }
        None
    }
}

fn is_hex_digest(value: &str) -> bool {
    matches!(value.len(), 32 | 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Splits one line of a simple CSV (quotes honoured, no embedded newlines).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(String::from).collect(),
        _ => vec![line.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn list(text: &str) -> (tempfile::NamedTempFile, SuppressionSet) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let set = SuppressionSet::load(&[file.path().to_path_buf()]).unwrap();
        (file, set)
    }

    #[test]
    fn plain_and_hashed_entries_match_normalised_addresses() {
        let sha = hex::encode(Sha256::digest(b"erased@example.com"));
        let md5 = hex::encode(Md5::digest(b"gone@example.com"));
        let (_f, set) = list(&format!("hash\n{sha}\n{md5}\n"));
        let n = normalize::normalize(" Erased@Example.com").unwrap();
        assert_eq!(
            set.matches(" Erased@Example.com", &n),
            Some("SHA-256 digest")
        );
        let n = normalize::normalize("gone@example.com").unwrap();
        assert_eq!(set.matches("gone@example.com", &n), Some("MD5 digest"));
        let (_f, set) = list("Someone@Example.com\n# comment\n\n");
        let n = normalize::normalize("someone@example.COM").unwrap();
        assert_eq!(set.matches("someone@example.COM", &n), Some("address"));
        let n = normalize::normalize("other@example.com").unwrap();
        assert_eq!(set.matches("other@example.com", &n), None);
    }

    #[test]
    fn csv_with_email_column() {
        let (_f, set) = list("id,Email,reason\n1,a@example.com,gdpr\n2,\"b@example.com\",unsub\n");
        assert_eq!(set.summaries()[0].addresses, 2);
    }
}
