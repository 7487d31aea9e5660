//! The run's persistent cache, whichever kind it is: the embedded redb file (the default) or
//! the shared PostgreSQL table. Both answer [`Store::get_many`] and take [`Store::put_many`]
//! with the same entries and TTL rules; neither ever fails a run.

use std::collections::HashMap;

use super::cache::{Cache, Entry};
use super::postgres::SharedCache;
use super::{DomainInfo, Warner};

/// One run's cache.
pub(crate) enum Store {
    /// The redb file.
    File(Cache),
    /// The PostgreSQL table.
    Shared(SharedCache),
}

impl Store {
    /// The fresh answers among `domains`.
    pub(crate) fn get_many(
        &self,
        domains: &[&str],
        warner: &Warner,
    ) -> HashMap<String, DomainInfo> {
        match self {
            Store::File(cache) => cache.get_many(domains, warner),
            Store::Shared(cache) => cache.get_many(domains, warner),
        }
    }

    /// Stores a run's new answers.
    pub(crate) fn put_many(&self, entries: &[(String, Entry)], warner: &Warner) {
        match self {
            Store::File(cache) => cache.put_many(entries, warner),
            Store::Shared(cache) => cache.put_many(entries, warner),
        }
    }
}
