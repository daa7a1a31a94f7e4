//! Versioned, forward-only migrations for PostgreSQL, run at start-up and by
//! `baton migrate`. Several nodes may start at once: the whole check-and-apply runs
//! under a session advisory lock (one per schema), so exactly one node applies each
//! migration and the others wait, then find nothing to do.

use super::describe;
use baton_core::error::StoreError;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

/// (version, name, SQL). Append only.
/// Versions match the SQLite migrations of the same name.
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

fn failed(step: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Unavailable(format!("{step}: {}", describe(&e)))
}

/// The advisory lock key: fixed per schema (the first schema on the search path), so
/// that nodes sharing a schema serialise and different schemas do not.
const LOCK_KEY: &str =
    "SELECT hashtextextended('baton schema_migrations ' || COALESCE(current_schema(), ''), 0)";

/// Applies every migration newer than the database's version, each in its own
/// transaction, under the advisory lock. Refuses a database whose schema is newer than
/// this binary knows. Answers the versions applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i64>, StoreError> {
    let key: i64 = client
        .query_one(LOCK_KEY, &[])
        .await
        .map_err(failed("cannot read the current schema"))?
        .try_get(0)
        .map_err(failed("cannot read the current schema"))?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .await
        .map_err(failed("cannot take the migration lock"))?;
    let result = apply(client).await;
    // On failure the caller drops this connection, which releases the lock too.
    if result.is_ok() {
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&key])
            .await
            .map_err(failed("cannot release the migration lock"))?;
    }
    result
}

async fn apply(client: &mut Client) -> Result<Vec<i64>, StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    BIGINT PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .await
        .map_err(failed("cannot create schema_migrations"))?;
    let current: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(failed("cannot read the schema version"))?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StoreError::Unavailable(format!(
            "the database schema is version {current}, newer than this binary's {latest}: upgrade baton"
        )));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let step = format!("migration {version} ({name}) failed");
        let tx = client.transaction().await.map_err(failed(&step))?;
        tx.batch_execute(sql).await.map_err(failed(&step))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)
             VALUES ($1, $2, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)",
            &[version as &(dyn ToSql + Sync), name],
        )
        .await
        .map_err(failed(&step))?;
        tx.commit().await.map_err(failed(&step))?;
        tracing::info!(version, name, "applied database migration");
        applied.push(*version);
    }
    Ok(applied)
}
