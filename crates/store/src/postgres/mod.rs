//! PostgreSQL backend: several Baton nodes share one database and behave as one server.
//!
//! Connections come from a small pool written here (no extra crate): at most
//! `pool_size` connections exist at once (a semaphore), idle ones are kept for reuse,
//! and a connection that failed at the connection level (I/O, closed by the server,
//! the server shutting down) is dropped instead of being returned, so the next
//! request opens a fresh one and the server recovers by itself when the database
//! comes back. Waiting for a free connection is bounded: past `ACQUIRE_TIMEOUT` the
//! caller gets `StoreError::Unavailable` (503), never a hang.
//!
//! Connections use TLS as libpq's URL parameters say (`sslmode`, `sslrootcert`,
//! `sslcert`, `sslkey`: see `tls.rs`, rustls with *ring*); without `sslmode`, a server
//! on this machine is reached in plain TCP and any other with `verify-full`.
//!
//! Every driver error maps to a `StoreError`: a unique violation is `Conflict`,
//! anything else `Unavailable`, and a value that cannot be decoded `Corrupt`. Nothing
//! here panics. Log lines carry the SQLSTATE and the server's message, never the
//! statement's parameters or the server's DETAIL (which can quote key values).
//!
//! The store's roles are one file each (`clients.rs`, `grants.rs`, …). Concurrency
//! rests on single statements wherever it can: rotation is one conditional UPDATE, a
//! code is consumed by one conditional UPDATE, consent merges in one
//! `INSERT … ON CONFLICT DO UPDATE`. Revocation is one UPDATE … RETURNING and the
//! insert of its events, in one transaction. No statement takes a table lock.

mod clients;
mod codes;
mod consents;
mod events;
mod grants;
mod keys;
mod maintenance;
mod migrate;
mod outbox;
#[cfg(test)]
mod plans;
mod records;
mod reference_tokens;
mod resources;
mod rows;
mod seed;
mod sessions;
pub mod tls;
mod users;

use crate::redact_url;
use baton_core::error::StoreError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

pub use migrate::{migrate, MIGRATIONS};

/// The default number of connections (`storage.pool_size`).
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a request waits for a free connection before answering 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening a connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection; the SQL here is a small fixed set (the
/// dynamic filters have a bounded number of shapes), so this is a safety bound only.
const MAX_CACHED_STATEMENTS: usize = 256;

pub struct PgStore {
    config: tokio_postgres::Config,
    tls: tls::PgTls,
    /// The URL without its password, for messages.
    target: String,
    idle: Mutex<Vec<PgConn>>,
    permits: Arc<Semaphore>,
    closed: AtomicBool,
}

/// One connection and its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    stmts: HashMap<String, Statement>,
}

/// A description of a driver error that is safe to log: the SQLSTATE and the server's
/// message for database errors (not DETAIL, which can quote values), else the
/// driver's text (I/O, closed connection, protocol).
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    // The driver's text names the kind ("error connecting to server"); the cause
    // (e.g. "Connection refused (os error 111)") is in the source chain.
    let mut m = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !m.ends_with(&text) {
            m.push_str(": ");
            m.push_str(&text);
        }
        cause = c.source();
    }
    m
}

/// Whether the connection that produced `e` must be thrown away rather than reused.
fn breaks_connection(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // Not a server-reported error: I/O, protocol or a closed connection.
        None => true,
        Some(code) => {
            let c = code.code();
            // 08: connection exception; 57: operator intervention (shutdown,
            // terminated backend); 0A000: e.g. a cached plan whose result type changed
            // under a migration run by another node.
            c.starts_with("08") || c.starts_with("57") || *code == SqlState::FEATURE_NOT_SUPPORTED
        }
    }
}

/// Whether PostgreSQL refused a text value it was given because of a character it
/// cannot hold: a NUL byte in `text` (22021) or `\u0000` in `jsonb` (22P05). No stored
/// value can contain one, so a lookup by such a value matches nothing.
fn unstorable_character(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(is_unstorable_character)
}

/// The SQLSTATEs of [`unstorable_character`]: the only data exceptions (class 22) that
/// are the caller's bad input. The others (numeric overflow of a computed value, a
/// stored value that does not cast, division by zero …) are faults on our side. No
/// column has a length limit, so 22001 (string data right truncation) cannot occur.
fn is_unstorable_character(c: &SqlState) -> bool {
    *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *c == SqlState::UNTRANSLATABLE_CHARACTER
}

/// Maps a driver error to a domain error (and logs what it must).
pub(crate) fn map_err(e: &tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return StoreError::Conflict("a record with this key exists".into());
    }
    // A text value the caller gave with a character the database cannot hold (a NUL
    // byte): bad input, not an outage. Any other data exception is a fault on the
    // server's side and is logged and answered as one below.
    if unstorable_character(e) {
        tracing::debug!(error = %describe(e), "postgres refused a value");
        return StoreError::Invalid(
            "a value contains a character that cannot be stored (NUL)".into(),
        );
    }
    let d = describe(e);
    tracing::warn!(error = %d, "postgres operation failed");
    StoreError::Unavailable(d)
}

pub(crate) fn corrupt(what: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        tracing::error!(error = %e, what, "postgres: stored value could not be decoded");
        StoreError::Corrupt(format!("stored {what} could not be decoded"))
    }
}

/// A statement parameter (for statements whose shape is built at run time).
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

pub(crate) fn param_refs(p: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PgStore {
    /// Connects, runs pending migrations (under an advisory lock, so several nodes may
    /// start at once) and answers a store with a pool of at most `pool_size`
    /// connections. The URL is `postgres://user[:password]@host[:port]/db[?params]`
    /// (tokio-postgres parameters, e.g. `options=-csearch_path%3Dbaton`).
    pub async fn open(url: &str, pool_size: usize) -> Result<PgStore, StoreError> {
        let target = redact_url(url);
        let (mut config, tls) = tls::parse(url).map_err(|e| {
            StoreError::Unavailable(format!("invalid PostgreSQL url `{target}`: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("baton");
        }
        let store = PgStore {
            config,
            tls,
            target,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(pool_size.max(1))),
            closed: AtomicBool::new(false),
        };
        let mut conn = store.connect().await?;
        migrate(&mut conn.client).await.map_err(|e| match e {
            StoreError::Unavailable(m) => {
                StoreError::Unavailable(format!("PostgreSQL at {}: {m}", store.target))
            }
            other => other,
        })?;
        if let Ok(mut idle) = store.idle.lock() {
            idle.push(conn);
        }
        Ok(store)
    }

    /// The database URL without its password.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The TLS mode in effect (`sslmode`, or the default chosen for the host).
    pub fn tls_mode(&self) -> tls::Mode {
        self.tls.mode
    }

    async fn connect(&self) -> Result<PgConn, StoreError> {
        let fail = |e: tokio_postgres::Error| {
            let m = format!(
                "cannot connect to PostgreSQL at {} (sslmode={}): {}{}",
                self.target,
                self.tls.mode.as_str(),
                describe(&e),
                self.hint(&e)
            );
            tracing::warn!("{m}");
            StoreError::Unavailable(m)
        };
        let client = match &self.tls.connector {
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(&fail)?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %describe(&e), "postgres connection closed");
                    }
                });
                client
            }
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await.map_err(&fail)?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %describe(&e), "postgres connection closed");
                    }
                });
                client
            }
        };
        Ok(PgConn {
            client,
            stmts: HashMap::new(),
        })
    }

    /// What to do about a failed connection, when the cause is TLS.
    fn hint(&self, e: &tokio_postgres::Error) -> &'static str {
        let text = describe(e);
        if text.contains("UnknownIssuer") || text.contains("BadSignature") {
            " (the server's certificate is not signed by a CA in `sslrootcert`, or by a system CA without it)"
        } else if text.contains("not valid for name") || text.contains("NotValidForName") {
            " (the server's certificate does not name this host: connect by a name it lists, or use `sslmode=verify-ca` to check the chain only)"
        } else if text.contains("server does not support TLS") {
            " (set `sslmode=disable` only if the network to the database is trusted)"
        } else if self.tls.mode == tls::Mode::Disable && text.contains("no encryption") {
            " (the server requires TLS: set `sslmode=verify-full` and `sslrootcert`)"
        } else {
            ""
        }
    }

    /// Takes a connection from the pool (opening one if none is idle), waiting at most
    /// `ACQUIRE_TIMEOUT` for a free slot.
    pub(crate) async fn conn(&self) -> Result<Lease<'_>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("store is closed".into()));
        }
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("postgres: no free connection in the pool");
                StoreError::Unavailable("no free database connection".into())
            })?
            .map_err(|_| StoreError::Unavailable("store is closed".into()))?;
        let reused = loop {
            let next = match self.idle.lock() {
                Ok(mut idle) => idle.pop(),
                Err(_) => None,
            };
            match next {
                Some(c) if c.client.is_closed() => continue,
                other => break other,
            }
        };
        let conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(Lease {
            store: self,
            conn: Some(conn),
            healthy: true,
            in_tx: false,
            _permit: permit,
        })
    }

    /// Stops handing out connections; those in use finish and are then closed.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// A connection borrowed from the pool. Returned on drop unless it broke, or was
/// dropped inside a transaction (a cancelled request): then it is closed, and the
/// server rolls the transaction back.
pub(crate) struct Lease<'a> {
    store: &'a PgStore,
    conn: Option<PgConn>,
    healthy: bool,
    in_tx: bool,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.healthy
            || self.in_tx
            || conn.client.is_closed()
            || self.store.closed.load(Ordering::Acquire)
        {
            return;
        }
        if let Ok(mut idle) = self.store.idle.lock() {
            idle.push(conn);
        }
    }
}

impl Lease<'_> {
    fn fail(&mut self, e: &tokio_postgres::Error) -> StoreError {
        if breaks_connection(e) {
            self.healthy = false;
        }
        map_err(e)
    }

    fn pg(&self) -> Result<&PgConn, StoreError> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("connection already released".into()))
    }

    /// The prepared statement for `sql` on this connection (prepared once).
    async fn stmt(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.pg()?.stmts.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.pg()?.client.prepare(sql).await;
        match prepared {
            Ok(s) => {
                if let Some(c) = self.conn.as_mut() {
                    if c.stmts.len() >= MAX_CACHED_STATEMENTS {
                        c.stmts.clear();
                    }
                    c.stmts.insert(sql.to_string(), s.clone());
                }
                Ok(s)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// Whether a failed statement was a lookup that cannot match: a read (or a delete)
    /// outside a transaction, given a value no stored row can hold (a NUL byte). It answers no
    /// rows rather than an error (inside a transaction the error must abort it).
    fn matches_nothing(&self, sql: &str, e: &tokio_postgres::Error) -> bool {
        !self.in_tx
            && unstorable_character(e)
            && sql.trim_start().get(..6).is_some_and(|k| {
                k.eq_ignore_ascii_case("select") || k.eq_ignore_ascii_case("delete")
            })
    }

    pub(crate) async fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let stmt = self.stmt(sql).await?;
        let r = self.pg()?.client.query(&stmt, params).await;
        match r {
            Err(e) if self.matches_nothing(sql, &e) => Ok(Vec::new()),
            r => r.map_err(|e| self.fail(&e)),
        }
    }

    pub(crate) async fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let stmt = self.stmt(sql).await?;
        let r = self.pg()?.client.query_opt(&stmt, params).await;
        match r {
            Err(e) if self.matches_nothing(sql, &e) => Ok(None),
            r => r.map_err(|e| self.fail(&e)),
        }
    }

    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let stmt = self.stmt(sql).await?;
        let r = self.pg()?.client.execute(&stmt, params).await;
        match r {
            Err(e) if self.matches_nothing(sql, &e) => Ok(0),
            r => r.map_err(|e| self.fail(&e)),
        }
    }

    async fn simple(&mut self, sql: &str) -> Result<(), StoreError> {
        let r = self.pg()?.client.batch_execute(sql).await;
        r.map_err(|e| self.fail(&e))
    }

    pub(crate) async fn begin(&mut self) -> Result<(), StoreError> {
        // Marked first: if this future is dropped half-way, the connection is not reused.
        self.in_tx = true;
        self.simple("BEGIN").await
    }

    /// Commits; on failure the outcome is unknown to the caller, who is told
    /// `Unavailable` (and must not assume anything was written).
    pub(crate) async fn commit(&mut self) -> Result<(), StoreError> {
        self.simple("COMMIT").await?;
        self.in_tx = false;
        Ok(())
    }

    pub(crate) async fn rollback(&mut self) {
        if self.simple("ROLLBACK").await.is_ok() {
            self.in_tx = false;
        } else {
            self.healthy = false;
        }
    }

    /// Runs `body` in a transaction on this connection: committed if it answers
    /// `Ok`, rolled back otherwise.
    pub(crate) async fn finish<T>(&mut self, body: Result<T, StoreError>) -> Result<T, StoreError> {
        match body {
            Ok(v) => {
                self.commit().await?;
                Ok(v)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unstorable_characters_are_the_callers_fault() {
        for c in [
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            SqlState::UNTRANSLATABLE_CHARACTER,
        ] {
            assert!(is_unstorable_character(&c), "{}", c.code());
        }
        for c in [
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            SqlState::DATETIME_FIELD_OVERFLOW,
            SqlState::INVALID_TEXT_REPRESENTATION,
            SqlState::DIVISION_BY_ZERO,
            SqlState::STRING_DATA_RIGHT_TRUNCATION,
            SqlState::UNIQUE_VIOLATION,
        ] {
            assert!(!is_unstorable_character(&c), "{}", c.code());
        }
    }

    #[test]
    fn bad_url_is_a_clear_error_without_the_password() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt
            .block_on(PgStore::open(
                "postgres://u:hunter2@127.0.0.1:5432/db?nonsense=1",
                4,
            ))
            .err()
            .unwrap();
        let m = e.to_string();
        assert!(m.contains("invalid PostgreSQL url"), "{m}");
        assert!(!m.contains("hunter2"), "{m}");
    }

    #[test]
    fn unreachable_database_names_the_url_without_its_password() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Port 1 on loopback: nothing listens there.
        let e = rt
            .block_on(PgStore::open("postgres://u:hunter2@127.0.0.1:1/db", 4))
            .err()
            .unwrap();
        let m = e.to_string();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        assert!(
            m.contains("cannot connect to PostgreSQL at postgres://u:***@127.0.0.1:1/db"),
            "{m}"
        );
        assert!(!m.contains("hunter2"), "{m}");
        assert!(m.contains("refused"), "the cause is given: {m}");
    }
}
