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
