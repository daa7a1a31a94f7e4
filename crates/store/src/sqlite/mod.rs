//! SQLite backend: WAL, `synchronous = FULL`, one writer thread that commits
//! concurrent writes together (group commit), and a small pool of reader connections.
//!
//! Every write is a closure run inside the writer's transaction, each in its own
//! savepoint so that one failing write does not undo its neighbours. A caller is told
//! its write succeeded only after the COMMIT that contains it is durable.
//!
//! The store's roles are one file each (`clients.rs`, `grants.rs`, …).

mod clients;
mod codes;
mod consents;
mod events;
mod grants;
mod keys;
mod known;
mod maintenance;
mod migrate;
mod outbox;
#[cfg(test)]
mod plans;
mod queue;
mod records;
mod reference_tokens;
mod resources;
mod seed;
mod sessions;
#[cfg(test)]
mod tests;
mod users;

use baton_core::error::StoreError;
use known::{Changes, Known};
use queue::{Gathering, Queue};
use rusqlite::{Connection, OpenFlags};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

pub use migrate::{migrate, MIGRATIONS};

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Run = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// A write for the writer's next transaction, and what it may change.
struct Job {
    run: Run,
    changes: Changes,
    /// The write runs in a savepoint of its own, undone if it fails, so that a failed
    /// write leaves nothing in the transaction its neighbours commit. A write of one
    /// statement needs none: SQLite undoes a failed statement by itself.
    savepoint: bool,
}

/// The most writes one transaction takes; more wait for the next commit.
const MAX_BATCH: usize = 512;

/// Under load (the last transaction held more than one write), the writer waits up to
/// 800 µs for 20 writes before it begins a transaction: one sync then covers a dozen
/// refreshes instead of a few, and the sync is most of what a durable commit costs. A
/// write that arrives alone after a lone write never waits.
const GATHERING: Gathering = Gathering {
    target: 20,
    wait: std::time::Duration::from_micros(800),
};

/// How often the checkpointer copies the WAL's committed pages into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

pub struct SqliteStore {
    path: String,
    /// The writer's queue; closed with the store.
    writer: Arc<Queue<Job>>,
    readers: Mutex<Vec<Connection>>,
    /// Dropped (with the store, or by `close`) to stop the checkpointer.
    checkpointer: Mutex<Option<mpsc::Sender<()>>>,
    /// Clients and users as last read (see `known.rs`); the writer forgets them.
    known: Arc<Known>,
}

pub(crate) fn unavailable(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict("a record with this key exists".into())
        }
        other => {
            tracing::warn!(error = %other, "sqlite operation failed");
            StoreError::Unavailable(other.to_string())
        }
    }
}

fn connect(path: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Unavailable(format!("cannot open SQLite database `{path}`: {e}"))
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(unavailable)?;
    // WAL: readers never block the writer nor each other. FULL: a commit is on disk
    // before it is acknowledged, so no acknowledged rotation is lost in a crash.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(|e| {
        StoreError::Unavailable(format!("cannot configure SQLite database `{path}`: {e}"))
    })?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database and runs pending migrations.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let path = if path.is_empty() { "baton.db" } else { path };
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        Self::with_migrated(path, conn)
    }

    /// Opens an already-migrated database (the caller ran `migrate`).
    fn with_migrated(path: &str, writer_conn: Connection) -> Result<SqliteStore, StoreError> {
        // The writer never checkpoints: a checkpoint copies pages into the database
        // file and syncs it, which would stall every commit queued behind it (tens of
        // milliseconds with millions of grants). The checkpointer does it beside the
        // writer instead; a PASSIVE checkpoint never blocks the writer nor readers.
        writer_conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(unavailable)?;
        let checkpoint_conn = connect(path)?;
        let queue = Arc::new(Queue::new());
        let known = Arc::new(Known::default());
        let (jobs, forget) = (queue.clone(), known.clone());
        std::thread::Builder::new()
            .name("baton-sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, &jobs, &forget))
            .map_err(|e| StoreError::Unavailable(format!("cannot start writer thread: {e}")))?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("baton-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, stopped))
            .map_err(|e| StoreError::Unavailable(format!("cannot start checkpoint thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_string(),
            writer: queue,
            readers: Mutex::new(Vec::new()),
            checkpointer: Mutex::new(Some(stop)),
            known,
        })
    }

    /// Runs `f` in the writer's next transaction; answers once that transaction has
    /// committed (or failed, in which case nothing of `f` was kept). `f` must change
    /// no client and no user: those are written with [`SqliteStore::write_records`].
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_changing(Changes::Other, true, f).await
    }

    /// [`SqliteStore::write`] for a write of exactly one statement (and no client or
    /// user): a failed statement changes nothing, so it runs without the savepoint
    /// that guards each write of several statements (two statements fewer for the
    /// writer per refresh).
    pub(crate) async fn write_statement<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_changing(Changes::Other, false, f).await
    }

    /// [`SqliteStore::write`] for a write that changes clients or users: what the store
    /// keeps of them in memory is forgotten before the write is acknowledged.
    pub(crate) async fn write_records<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_changing(Changes::Records, true, f).await
    }

    async fn write_changing<T, F>(
        &self,
        changes: Changes,
        savepoint: bool,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let run: Run = Box::new(move |conn| {
            let r = f(conn);
            let ok = r.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = tx.send(commit.and(r));
            });
            (ok, done)
        });
        self.writer
            .push(Job {
                run,
                changes,
                savepoint,
            })
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("writer thread dropped the request".into()))?
    }

    /// Runs a read on a pooled connection. Reads are short and indexed, so they run
    /// on the calling thread; WAL lets them proceed while the writer commits.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = {
            let mut pool = self
                .readers
                .lock()
                .map_err(|_| StoreError::Unavailable("reader pool poisoned".into()))?;
            pool.pop()
        };
        let conn = match conn {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let r = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 16 {
                pool.push(conn);
            }
        }
        r
    }

    /// Stops accepting writes; the writer thread finishes what it has and exits.
    pub fn close(&self) {
        self.writer.close();
        if let Ok(mut c) = self.checkpointer.lock() {
            c.take();
        }
    }
}

impl Drop for SqliteStore {
    /// The writer finishes what is queued and exits (the checkpointer stops as its
    /// channel drops).
    fn drop(&mut self) {
        self.writer.close();
    }
}

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`] until the store is closed or dropped:
/// PASSIVE (copies what no reader still needs, waits for nobody), so that the WAL is
/// reused from its start instead of growing. A checkpoint that fails (the database is
/// busy, say) is tried again at the next tick.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "sqlite: checkpoint failed; will retry");
        }
    }
}

/// Runs one of the writer's transaction-control statements (prepared once per
/// connection: the writer runs several per batch, and one savepoint pair per write).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Drops the writes still queued when the writer stops, however it stops (a panic
/// included): their callers hear so instead of waiting for ever.
struct Abandon<'a>(&'a Queue<Job>);

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

fn writer_loop(conn: Connection, queue: &Queue<Job>, known: &Known) {
    let _abandon = Abandon(queue);
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut done: Vec<Completion> = Vec::with_capacity(MAX_BATCH);
    let mut previous = 0;
    while queue.next_batch(GATHERING, previous, MAX_BATCH, &mut batch) {
        previous = batch.len();
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "sqlite: cannot begin a write transaction");
            // Dropping a job drops its reply channel: each caller gets Unavailable.
            batch.clear();
            continue;
        }
        let mut forget = false;
        let mut rolled_back = false;
        for job in batch.drain(..) {
            forget |= job.changes == Changes::Records;
            if job.savepoint {
                let sp = control(&conn, "SAVEPOINT w");
                let (ok, d) = (job.run)(&conn);
                if sp.is_ok() {
                    let _ = if ok {
                        control(&conn, "RELEASE w")
                    } else {
                        control(&conn, "ROLLBACK TO w").and_then(|()| control(&conn, "RELEASE w"))
                    };
                }
                done.push(d);
            } else {
                done.push((job.run)(&conn).1);
            }
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back by itself (a write ran out
                // of disk or memory, or was interrupted): the writes after it must not
                // run outside any transaction, each committed alone while its caller
                // hears that the batch failed. Leaving the loop drops them (their
                // callers get Unavailable, nothing of theirs written); the writes that
                // ran hear that the transaction failed, and none of them was kept.
                tracing::error!(
                    "sqlite: the write transaction was rolled back; its writes are undone"
                );
                rolled_back = true;
                break;
            }
        }
        let commit = if rolled_back {
            Err(StoreError::Unavailable(
                "the write transaction was rolled back".into(),
            ))
        } else {
            let commit = control(&conn, "COMMIT").map_err(unavailable);
            if commit.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            commit
        };
        // Before any write of this transaction is acknowledged: a caller told its
        // client or user changed never reads the old one from memory afterwards.
        if forget {
            known.forget();
        }
        for d in done.drain(..) {
            d(commit.clone());
        }
    }
}
