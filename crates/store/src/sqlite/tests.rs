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
