//! The shared domain cache in PostgreSQL (`--cache postgres://…`, issue 14 part 5): the same
//! entries and TTL rules as the embedded redb cache, in one table that a fleet of hosts shares.
//!
//! Consumes a connection URL and the checker's tokio runtime; produces the fresh answers for a
//! batch of domains, and stores a run's new answers in one statement at the end. Concurrent
//! writers are safe: the table is created under an advisory lock, and answers are upserted in
//! domain order (no deadlock between two runs), the newer answer winning. A database that
//! cannot be reached, or that fails half-way, makes the run go on without the cache after one
//! warning; it never fails a run. Messages name the server (host, port, database), never the
//! user or password of the URL. Only domains and their DNS facts are stored: no address.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use super::cache::{Entry, now_ms};
use super::{CacheStats, DomainInfo, DomainStatus, PruneOutcome, Warner};
use crate::error::{Error, Result};

/// The table; `_v1` is the entry format's version, as in the redb cache.
const TABLE: &str = "listwash_domains_v1";

/// How long connecting may take before the run goes on without the cache.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one statement may take before the run goes on without the cache.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// An arbitrary key for `pg_advisory_xact_lock`: serialises the table's creation.
const CREATE_LOCK: i64 = 0x6c69_7374_7761_7368; // "listwash"

/// Whether a `--cache` value names a PostgreSQL database rather than a file.
pub fn is_postgres_url(value: &str) -> bool {
    value.starts_with("postgres://") || value.starts_with("postgresql://")
}

/// A connection to the shared cache, for one run.
pub(crate) struct SharedCache {
    handle: Handle,
    client: Client,
    /// `host:port/database`, for messages.
    place: String,
    /// Set after the first failure: the cache is not used again this run.
    broken: AtomicBool,
}

impl SharedCache {
    /// Connects and creates the table if needed. Returns `None`, after one warning, when the
    /// run has to go on without the cache. Must not be called from inside the runtime.
    pub(crate) fn open(url: &str, handle: Handle, warner: &Warner) -> Option<SharedCache> {
        let mut config: Config = match url.parse() {
            Ok(config) => config,
            Err(e) => {
                warner.warn(&format!(
                    "domain cache: the PostgreSQL URL given to --cache cannot be read ({e}); \
                     running without the cache (expected postgres://user@host:port/database)"
                ));
                return None;
            }
        };
        config
            .application_name("listwash")
            .connect_timeout(CONNECT_TIMEOUT);
        let place = place(&config);
        let connected = handle.block_on(async {
            let (mut client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                // Errors surface on the client's next statement.
                let _ = connection.await;
            });
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {TABLE} (
                     domain text PRIMARY KEY,
                     status text NOT NULL,
                     expires_ms bigint NOT NULL,
                     stored_ms bigint NOT NULL,
                     entry text NOT NULL)"
            );
            let txn = client.transaction().await?;
            txn.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
                .await?;
            txn.batch_execute(&create).await?;
            txn.commit().await?;
            Ok::<Client, tokio_postgres::Error>(client)
        });
        match connected {
            Ok(client) => Some(SharedCache {
                handle,
                client,
                place,
                broken: AtomicBool::new(false),
            }),
            Err(e) => {
                warner.warn(&format!(
                    "domain cache: PostgreSQL at {place} cannot be used ({}); running without \
                     the cache (check that the server runs and accepts this user, or use \
                     --no-cache)",
                    one_line(&e)
                ));
                None
            }
        }
    }

    /// The fresh entries among `domains` (expired, unknown and undecodable ones are left out,
    /// to be queried again and overwritten at the end).
    pub(crate) fn get_many(
        &self,
        domains: &[&str],
        warner: &Warner,
    ) -> HashMap<String, DomainInfo> {
        if domains.is_empty() || self.broken.load(Ordering::Relaxed) {
            return HashMap::new();
        }
        let sql = format!(
            "SELECT domain, entry FROM {TABLE}
             WHERE domain = ANY($1) AND expires_ms > $2 AND status <> $3"
        );
        let now = to_i64(now_ms());
        let unknown = DomainStatus::Unknown.as_str();
        let rows = self.run(
            self.client.query(&sql, &[&domains, &now, &unknown]),
            "some answers could not be read from it",
            warner,
        );
        let mut found = HashMap::new();
        for row in rows.unwrap_or_default() {
            let (Ok(domain), Ok(text)) = (row.try_get::<_, String>(0), row.try_get::<_, &str>(1))
            else {
                continue;
            };
            let Ok(entry) = serde_json::from_str::<Entry>(text) else {
                continue;
            };
            if entry.status != DomainStatus::Unknown {
                found.insert(domain, entry.into_info());
            }
        }
        found
    }

    /// Stores `entries` in one statement, keeping the newer answer where another run stored
    /// the same domain. `Unknown` answers are never stored.
    pub(crate) fn put_many(&self, entries: &[(String, Entry)], warner: &Warner) {
        if self.broken.load(Ordering::Relaxed) {
            return;
        }
        let mut rows: Vec<(&str, &Entry)> = entries
            .iter()
            .filter(|(_, entry)| entry.status != DomainStatus::Unknown)
            .map(|(domain, entry)| (domain.as_str(), entry))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        rows.dedup_by(|a, b| a.0 == b.0);
        if rows.is_empty() {
            return;
        }
        let mut domains = Vec::with_capacity(rows.len());
        let mut statuses = Vec::with_capacity(rows.len());
        let mut expires = Vec::with_capacity(rows.len());
        let mut stored = Vec::with_capacity(rows.len());
        let mut texts = Vec::with_capacity(rows.len());
        for (domain, entry) in rows {
            let Ok(text) = serde_json::to_string(entry) else {
                continue;
            };
            domains.push(domain);
            statuses.push(entry.status.as_str());
            expires.push(to_i64(entry.expires_ms));
            stored.push(to_i64(entry.stored_ms.unwrap_or_else(now_ms)));
            texts.push(text);
        }
        let sql = format!(
            "INSERT INTO {TABLE} AS t (domain, status, expires_ms, stored_ms, entry)
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[])
             ORDER BY 1
             ON CONFLICT (domain) DO UPDATE SET
                 status = EXCLUDED.status, expires_ms = EXCLUDED.expires_ms,
                 stored_ms = EXCLUDED.stored_ms, entry = EXCLUDED.entry
             WHERE t.stored_ms <= EXCLUDED.stored_ms"
        );
        self.run(
            self.client
                .execute(&sql, &[&domains, &statuses, &expires, &stored, &texts]),
            "this run's answers were not saved",
            warner,
        );
    }

    /// Runs one statement with a time limit; on failure, warns once and stops using the cache.
    fn run<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
        consequence: &str,
        warner: &Warner,
    ) -> Option<T> {
        let outcome = self
            .handle
            .block_on(async { tokio::time::timeout(STATEMENT_TIMEOUT, statement).await });
        let why = match outcome {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) => one_line(&e),
            Err(_) => format!("no reply within {} s", STATEMENT_TIMEOUT.as_secs()),
        };
        if !self.broken.swap(true, Ordering::Relaxed) {
            warner.warn(&format!(
                "domain cache: PostgreSQL at {} failed ({why}); {consequence}, and the run goes \
                 on without the cache",
                self.place
            ));
        }
        None
    }
}

/// `host:port/database` of a configuration (no user, no password).
fn place(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("(default database)");
    crate::columns::escape(&format!("{host}:{port}/{database}"))
}

/// A PostgreSQL error and its causes on one line.
fn one_line(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::columns::escape(&text.replace('\n', " "))
}

/// Milliseconds as PostgreSQL's `bigint`.
fn to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// `listwash cache stats --cache postgres://…`: the table's counts (see
/// [`super::CacheStats`]; `path` holds `host:port/database`, `size_bytes` the table's size).
///
/// # Errors
/// [`Error::Cache`] when the database cannot be reached or queried.
pub fn shared_cache_stats(url: &str) -> Result<CacheStats> {
    let now = to_i64(now_ms());
    with_table(
        url,
        "nothing was counted",
        async move |client, size, place| {
            let mut stats = CacheStats {
                path: place.into(),
                ..CacheStats::default()
            };
            let Some(size) = size else {
                return Ok(stats);
            };
            stats.exists = true;
            stats.size_bytes = size;
            let sql = format!(
                "SELECT status, count(*), count(*) FILTER (WHERE expires_ms <= $1),
                    min(stored_ms), max(stored_ms), min(expires_ms) FILTER (WHERE expires_ms > $1)
             FROM {TABLE} GROUP BY status"
            );
            let (mut oldest, mut newest, mut next) = (None::<i64>, None::<i64>, None::<i64>);
            for row in client.query(&sql, &[&now]).await? {
                let status: &str = row.try_get(0)?;
                let entries = u64::try_from(row.try_get::<_, i64>(1)?).unwrap_or(0);
                stats.entries += entries;
                stats.expired += u64::try_from(row.try_get::<_, i64>(2)?).unwrap_or(0);
                match serde_json::from_value::<DomainStatus>(status.into()) {
                    Ok(known) => *stats.by_status.entry(known.as_str()).or_default() += entries,
                    Err(_) => stats.unreadable += entries,
                }
                let fold =
                    |acc: Option<i64>, v: Option<i64>, pick: fn(i64, i64) -> i64| match (acc, v) {
                        (Some(a), Some(b)) => Some(pick(a, b)),
                        (a, b) => a.or(b),
                    };
                oldest = fold(oldest, row.try_get(3)?, i64::min);
                newest = fold(newest, row.try_get(4)?, i64::max);
                next = fold(next, row.try_get(5)?, i64::min);
            }
            let time =
                |ms: Option<i64>| ms.and_then(|ms| super::upkeep::time(u64::try_from(ms).ok()?));
            stats.oldest_stored = time(oldest);
            stats.newest_stored = time(newest);
            stats.next_expiry = time(next);
            Ok(stats)
        },
    )
}

/// `listwash cache prune --cache postgres://…`: deletes the expired entries in one statement
/// (safe beside running clients: a row a run refreshes meanwhile is not expired any more).
///
/// # Errors
/// [`Error::Cache`] when the database cannot be reached or queried; then nothing was removed.
pub fn shared_cache_prune(url: &str) -> Result<PruneOutcome> {
    let now = to_i64(now_ms());
    with_table(
        url,
        "nothing was removed",
        async move |client, size, place| {
            let mut outcome = PruneOutcome {
                path: place.into(),
                ..PruneOutcome::default()
            };
            let Some(size) = size else {
                return Ok(outcome);
            };
            outcome.exists = true;
            outcome.size_before = size;
            let delete = format!("DELETE FROM {TABLE} WHERE expires_ms <= $1");
            outcome.removed_expired = client.execute(&delete, &[&now]).await?;
            let count = format!("SELECT count(*) FROM {TABLE}");
            outcome.remaining = scalar(&client, &count).await?;
            outcome.size_after = table_size(&client).await?.unwrap_or(0);
            Ok(outcome)
        },
    )
}

/// Connects for `cache stats|prune` and runs `work` with the client, the table's size on disk
/// (`None`: no run has created it yet) and `host:port/database`, on a runtime of its own.
fn with_table<T, W>(url: &str, consequence: &str, work: W) -> Result<T>
where
    W: AsyncFnOnce(Client, Option<u64>, String) -> std::result::Result<T, tokio_postgres::Error>,
{
    let (config, place) = config_of(url)?;
    let shown = place.clone();
    on_own_runtime(&shown, consequence, async move {
        let client = connect(&config).await?;
        let size = table_size(&client).await?;
        work(client, size, place).await
    })
}

/// The table's size in bytes, `None` when it does not exist.
async fn table_size(client: &Client) -> std::result::Result<Option<u64>, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT pg_total_relation_size(to_regclass($1::text))",
            &[&TABLE],
        )
        .await?;
    let size: Option<i64> = row.try_get(0)?;
    Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
}

/// A query's one non-negative number.
async fn scalar(client: &Client, sql: &str) -> std::result::Result<u64, tokio_postgres::Error> {
    let n: i64 = client.query_one(sql, &[]).await?.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The parsed URL (with listwash's name and connect timeout) and its `host:port/database`.
fn config_of(url: &str) -> Result<(Config, String)> {
    let mut config: Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::Cache {
            path: "postgres://".into(),
            message: format!(
                "the PostgreSQL URL given to --cache cannot be read ({}); expected \
             postgres://user@host:port/database",
                one_line(&e)
            ),
        })?;
    config
        .application_name("listwash")
        .connect_timeout(CONNECT_TIMEOUT);
    let place = place(&config);
    Ok((config, place))
}

/// Connects, driving the connection on the current runtime.
async fn connect(config: &Config) -> std::result::Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs `work` on a small runtime of its own, within [`STATEMENT_TIMEOUT`] per call.
fn on_own_runtime<T>(
    place: &str,
    consequence: &str,
    work: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
) -> Result<T> {
    let failed = |why: String| Error::Cache {
        path: place.into(),
        message: format!(
            "domain cache: PostgreSQL at {place} cannot be used ({why}); {consequence} (check \
             that the server runs and accepts this user)"
        ),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(e.to_string()))?;
    match runtime.block_on(async { tokio::time::timeout(STATEMENT_TIMEOUT * 3, work).await }) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(failed(one_line(&e))),
        Err(_) => Err(failed(format!(
            "no reply within {} s",
            (STATEMENT_TIMEOUT * 3).as_secs()
        ))),
    }
}
