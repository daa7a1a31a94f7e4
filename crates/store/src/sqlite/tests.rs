//! The writer and the checkpointer, on a real database file.

#![allow(clippy::unwrap_used)]

use super::SqliteStore;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The writer does not checkpoint; the checkpointer does, beside it: soon after a
/// commit the database file alone (without its WAL) holds it.
#[test]
fn committed_writes_reach_the_database_file_without_the_writer_checkpointing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let path = path.to_str().unwrap();
    let store = SqliteStore::open(path).unwrap();
    let autocheckpoint: i64 = block_on(store.write(|c| {
        c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        for i in 0..100 {
            c.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        Ok(c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap())
    }))
    .unwrap();
    assert_eq!(autocheckpoint, 0, "the writer must not checkpoint");
    // Copy the database file without its WAL once the checkpointer has had its turns.
    let copy = dir.path().join("copy.db");
    let mut rows = 0;
    for _ in 0..40 {
        block_on(async { tokio::time::sleep(super::CHECKPOINT_EVERY / 2).await });
        std::fs::copy(path, &copy).unwrap();
        let c = rusqlite::Connection::open(&copy).unwrap();
        rows = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap_or(0);
        drop(c);
        let _ = std::fs::remove_file(&copy);
        if rows == 100 {
            break;
        }
    }
    assert_eq!(
        rows, 100,
        "the checkpointer copied the commit into the file"
    );
    store.close();
}

/// A store migrated from before `idle_check_at` (migration 12): its grants get 0 there,
/// so the cleanup looks at each once, deletes the idle ones and rechecks the others,
/// which it deletes when their real idle deadline has passed.
#[test]
fn grants_stored_before_migration_12_are_rechecked_then_deleted_when_idle() {
    use baton_core::store::MaintenanceStore;
    use baton_core::time::Timestamp;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let path = path.to_str().unwrap();
    let min = |m: i64| 1_000_000_000_000 + m * 60_000;
    {
        // The schema as migration 11 left it, and two grants written then: idle 1 h,
        // one last used at the start, the other 50 minutes later.
        let c = rusqlite::Connection::open(path).unwrap();
        for (v, name, sql) in super::MIGRATIONS.iter().filter(|m| m.0 <= 11) {
            c.execute_batch(sql).unwrap();
            c.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at INTEGER NOT NULL); \
                 INSERT INTO schema_migrations VALUES ({v}, '{name}', 0)"
            ))
            .unwrap();
        }
        for (id, used) in [(1u8, min(0)), (2, min(50))] {
            c.execute(
                "INSERT INTO grants (id, client_id, subject, scope, online, auth_time, created_at, \
                 sliding_ms, last_used_at, generation, generation_started_at, rotate, grace_ms, \
                 update_claims) VALUES (?1, 'c', 's', 'offline_access', 0, ?2, ?2, 3600000, ?3, 1, \
                 ?3, 1, 0, 1)",
                rusqlite::params![vec![id; 16], min(0), used],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(path).unwrap();
    let at = Timestamp(min(90));
    let p = block_on(store.purge_grants(at, at, 10)).unwrap();
    assert_eq!((p.expired.len(), p.rechecked), (1, 1), "{p:?}");
    assert_eq!(p.expired[0].grant_id.unwrap().0, [1; 16]);
    let again = block_on(store.purge_grants(at, at, 10)).unwrap();
    assert_eq!((again.total(), again.rechecked), (0, 0));
    let at = Timestamp(min(110));
    let p = block_on(store.purge_grants(at, at, 10)).unwrap();
    assert_eq!(p.expired.len(), 1);
    assert_eq!(p.expired[0].grant_id.unwrap().0, [2; 16]);
    assert_eq!(p.expired[0].details["expired_at"], min(110));
    store.close();
}

mod gathering {
    use super::super::queue::{Closed, Gathering, Queue};
    use std::sync::Arc;
    use std::time::Duration;

    const MOST: usize = 512;

    /// Pushes `n` writes on another thread, `gap` apart, starting after `gap`.
    #[allow(clippy::disallowed_methods)] // a plain thread standing in for the callers
    fn later(q: &Arc<Queue<u32>>, n: u32, gap: Duration) -> std::thread::JoinHandle<()> {
        let q = q.clone();
        std::thread::spawn(move || {
            for i in 0..n {
                std::thread::sleep(gap);
                let _ = q.push(100 + i);
            }
        })
    }

    /// The next batch the writer takes from `q` with this target and wait, after a
    /// transaction of `previous` writes (asserting the queue did not end).
    fn next(q: &Queue<u32>, target: usize, wait: Duration, previous: usize) -> Vec<u32> {
        let mut batch = Vec::new();
        assert!(q.next_batch(Gathering { target, wait }, previous, MOST, &mut batch));
        batch
    }

    const LONG: Duration = Duration::from_secs(30);

    /// A write after a lone write is committed at once, whatever the wait allows: an
    /// idle server adds no latency to a refresh.
    #[test]
    fn a_write_after_a_lone_write_never_waits() {
        let q = Arc::new(Queue::new());
        q.push(1).unwrap();
        let pusher = later(&q, 1, Duration::from_millis(500));
        let batch = next(&q, 20, LONG, 1);
        assert_eq!(batch, vec![1], "it waited for a write that came later");
        pusher.join().unwrap();
    }

    /// An idle writer is woken by the first write.
    #[test]
    fn an_idle_writer_takes_the_first_write_that_comes() {
        let q = Arc::new(Queue::new());
        let pusher = later(&q, 1, Duration::from_millis(50));
        assert_eq!(next(&q, 20, LONG, 0), vec![100]);
        pusher.join().unwrap();
    }

    /// Under load, the writer waits for more writes and is woken as soon as the target
    /// is reached (here long before the wait ends); later writes wait for the next
    /// batch.
    #[test]
    fn under_load_a_batch_waits_for_its_target_and_no_longer() {
        let q = Arc::new(Queue::new());
        q.push(1).unwrap();
        q.push(2).unwrap();
        let pusher = later(&q, 5, Duration::from_millis(20));
        assert_eq!(next(&q, 4, LONG, 5), vec![1, 2, 100, 101]);
        pusher.join().unwrap();
        let rest = next(&q, 4, Duration::ZERO, 0);
        assert_eq!(rest, vec![102, 103, 104], "nothing is lost");
    }

    /// The wait is bounded: short of its target, a batch is taken once the wait is
    /// over, with what came meanwhile.
    #[test]
    fn short_of_its_target_a_batch_is_taken_when_the_wait_ends() {
        let q = Arc::new(Queue::new());
        q.push(1).unwrap();
        let pusher = later(&q, 1, Duration::from_secs(2));
        assert_eq!(next(&q, 20, Duration::from_millis(50), 7), vec![1]);
        pusher.join().unwrap();
    }

    /// A batch takes at most its bound; a closed queue refuses writes, still hands over
    /// what was queued, and then ends the writer's loop; an abandoned one drops them.
    #[test]
    fn a_batch_is_bounded_and_a_closed_queue_drains_before_it_ends() {
        let q = Queue::new();
        for i in 0..10 {
            q.push(i).unwrap();
        }
        let g = Gathering {
            target: 20,
            wait: LONG,
        };
        let mut batch = Vec::new();
        assert!(q.next_batch(g, 7, 4, &mut batch));
        assert_eq!(batch, vec![0, 1, 2, 3]);
        q.close();
        assert_eq!(q.push(10), Err(Closed));
        assert_eq!(next(&q, 20, LONG, 7), vec![4, 5, 6, 7, 8, 9]);
        assert!(!q.next_batch(g, 7, MOST, &mut batch));

        let q = Queue::new();
        q.push(1).unwrap();
        q.abandon();
        assert_eq!(q.push(2), Err(Closed));
        assert!(!q.next_batch(g, 0, MOST, &mut batch));
    }

    /// A closed store answers writes with an error.
    #[test]
    fn writes_to_a_closed_store_fail_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let store = super::super::SqliteStore::open(path.to_str().unwrap()).unwrap();
        store.close();
        let r = super::block_on(store.write(|_| Ok(())));
        assert!(r.is_err(), "{r:?}");
    }

    /// A writer that stops (here: a write panics in it) leaves no caller waiting: the
    /// write in flight and every later one fail.
    #[test]
    fn a_writer_that_stops_leaves_no_caller_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = super::super::SqliteStore::open(path.to_str().unwrap()).unwrap();
        let r = super::block_on(
            store.write(|_| -> Result<(), baton_core::error::StoreError> { panic!("deliberate") }),
        );
        assert!(r.is_err(), "{r:?}");
        let r = super::block_on(store.write(|_| Ok(())));
        assert!(r.is_err(), "{r:?}");
    }
}

/// A store in a temporary directory whose table `t` was made and filled by `setup`.
fn store_with(setup: &'static str) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
    block_on(store.write(move |c| {
        c.execute_batch(setup).unwrap();
        Ok(())
    }))
    .unwrap();
    (dir, store)
}

/// A write that keeps the writer busy (it counts to a million, answering the count)
/// while the writes after it queue, so that they share the next transaction; it says
/// on `started` when the writer begins it.
fn busy_write(
    store: &SqliteStore,
    started: std::sync::mpsc::Sender<()>,
) -> impl std::future::Future<Output = Result<i64, baton_core::error::StoreError>> + '_ {
    store.write(move |c| {
        let _ = started.send(());
        c.query_row(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n \
             WHERE x < 1000000) SELECT count(*) FROM n",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(|e| baton_core::error::StoreError::Unavailable(e.to_string()))
    })
}

/// The rows of `t` in key order, each as `row` reads it from the `columns` selected.
fn rows_of<T>(
    store: &SqliteStore,
    columns: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    store
        .read(|c| {
            let sql = format!("SELECT {columns} FROM t ORDER BY k");
            let mut s = c.prepare(&sql).unwrap();
            let rows = s.query_map([], row).unwrap();
            Ok(rows.map(Result::unwrap).collect())
        })
        .unwrap()
}

/// Writes committed in one transaction: one that fails leaves nothing of itself,
/// whether it ran in a savepoint (several statements) or alone (one statement, which
/// SQLite undoes by itself, here after it changed a first row), and the others commit.
#[test]
fn a_failed_write_leaves_nothing_and_its_neighbours_commit() {
    use baton_core::error::StoreError;
    let (_dir, store) = store_with(
        "CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER CHECK (v < 25)); \
         INSERT INTO t VALUES (1, 1), (2, 20)",
    );
    let sql = |sql: &'static str| {
        move |c: &rusqlite::Connection| {
            c.execute(sql, [])
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        }
    };
    let (busy, several, one, after_one, after_several) = block_on(async {
        tokio::join!(
            busy_write(&store, std::sync::mpsc::channel().0),
            store.write(|c| {
                c.execute("INSERT INTO t VALUES (10, 10)", []).unwrap();
                Err::<(), _>(StoreError::Conflict("the second statement failed".into()))
            }),
            // Row 1 becomes 11, then row 2 (30) fails the check.
            store.write_statement(sql("UPDATE t SET v = v + 10")),
            store.write_statement(sql("INSERT INTO t VALUES (20, 20)")),
            store.write(sql("INSERT INTO t VALUES (21, 21)")),
        )
    });
    busy.unwrap();
    assert!(
        matches!(several, Err(StoreError::Conflict(_))),
        "{several:?}"
    );
    assert!(one.unwrap_err().to_string().contains("CHECK"));
    after_one.unwrap();
    after_several.unwrap();
    let rows = rows_of(&store, "k, v", |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    });
    assert_eq!(rows, [(1, 1), (2, 20), (20, 20), (21, 21)]);
    store.close();
}

/// SQLite rolls a whole transaction back by itself when a write in it runs out of disk
/// (or memory, or is interrupted): the writes after it in the batch must not run
/// outside any transaction, each committed on its own, while their callers hear that
/// the batch failed. None of them runs; every caller hears of the failure, and what
/// they were told matches what is stored.
#[test]
fn writes_after_a_transaction_rolled_back_by_sqlite_do_not_run_alone() {
    use baton_core::error::StoreError;
    let (_dir, store) =
        store_with("CREATE TABLE t (k INTEGER PRIMARY KEY, b BLOB); INSERT INTO t (k) VALUES (1)");
    let unavailable = |e: rusqlite::Error| StoreError::Unavailable(e.to_string());
    let (started, writer_busy) = std::sync::mpsc::channel();
    let (busy, before, full, after) = block_on(async {
        tokio::join!(
            // The next three queue behind it, once the writer has begun it.
            busy_write(&store, started),
            async {
                writer_busy.recv().unwrap();
                store
                    .write_statement(move |c| {
                        c.execute("INSERT INTO t (k) VALUES (2)", [])
                            .map_err(unavailable)
                    })
                    .await
            },
            // The disk is full (the database may not grow): SQLite answers SQLITE_FULL
            // and rolls the whole transaction back.
            store.write_statement(move |c| {
                let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
                c.execute_batch(&format!("PRAGMA max_page_count = {pages}"))
                    .unwrap();
                let r = c.execute("INSERT INTO t VALUES (4, zeroblob(1000000))", []);
                c.execute_batch("PRAGMA max_page_count = 1073741823")
                    .unwrap();
                r.map_err(unavailable)
            }),
            store.write(move |c| c
                .execute("INSERT INTO t (k) VALUES (3)", [])
                .map_err(unavailable)),
        )
    });
    assert_eq!(busy.unwrap(), 1_000_000);
    let keys: Vec<i64> = rows_of(&store, "k", |r| r.get(0));
    assert_eq!(
        keys,
        [1],
        "the rolled-back transaction left nothing, nothing ran after it"
    );
    for told in [&before, &full] {
        assert!(
            matches!(told, Err(StoreError::Unavailable(m)) if m.contains("rolled back")),
            "its transaction was rolled back: {told:?}"
        );
    }
    assert!(after.is_err(), "it never ran: {after:?}");
    store.close();
}
