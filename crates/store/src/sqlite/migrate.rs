//! Versioned, forward-only migrations, run at start-up and by `baton migrate`.

use super::unavailable;
use baton_core::error::StoreError;
use rusqlite::Connection;

/// (version, name, SQL). Append only.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "session_clients",
        include_str!("migrations/0002_session_clients.sql"),
    ),
    (
        3,
        "revocation_markers",
        include_str!("migrations/0003_revocation_markers.sql"),
    ),
    (
        4,
        "dynamic_clients",
        include_str!("migrations/0004_dynamic_clients.sql"),
    ),
    (5, "dpop", include_str!("migrations/0005_dpop.sql")),
    (
        6,
        "managed_by",
        include_str!("migrations/0006_managed_by.sql"),
    ),
    (7, "outbox", include_str!("migrations/0007_outbox.sql")),
    (
        8,
        "resources",
        include_str!("migrations/0008_resources.sql"),
    ),
    (
        9,
        "cleanup_indexes",
        include_str!("migrations/0009_cleanup_indexes.sql"),
    ),
    (
        10,
        "user_admin",
        include_str!("migrations/0010_user_admin.sql"),
    ),
    (
        11,
        "events_by_grant",
        include_str!("migrations/0011_events_by_grant.sql"),
    ),
    (
        12,
        "idle_check",
        include_str!("migrations/0012_idle_check.sql"),
    ),
];

/// Applies every migration newer than the database's version, each in its own
/// transaction. Refuses a database whose schema is newer than this binary knows.
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        )",
    )
    .map_err(unavailable)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StoreError::Unavailable(format!(
            "the database schema is version {current}, newer than this binary's {latest}: upgrade baton"
        )));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(sql).map_err(|e| {
            StoreError::Unavailable(format!("migration {version} ({name}) failed: {e}"))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, strftime('%s','now'))",
            rusqlite::params![version, name],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        applied.push(*version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_registered_before_version_4_are_marked_as_registered_dynamically() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .unwrap();
        for (v, n, sql) in MIGRATIONS.iter().filter(|m| m.0 < 4) {
            c.execute_batch(sql).unwrap();
            c.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, 0)",
                rusqlite::params![v, n],
            )
            .unwrap();
        }
        c.execute_batch(
            "INSERT INTO clients VALUES ('dyn_0a1b', '{\"active\":true}', 0);
             INSERT INTO clients VALUES ('web', '{\"active\":true}', 0);
             INSERT INTO clients VALUES ('dynamo', '{\"active\":true}', 0);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let flag = |id: &str| -> Option<i64> {
            c.query_row(
                "SELECT json_extract(data, '$.dynamically_registered') FROM clients WHERE client_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(flag("dyn_0a1b"), Some(1));
        assert_eq!(flag("web"), None);
        assert_eq!(flag("dynamo"), None);
    }
}
