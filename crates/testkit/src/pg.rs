//! Throwaway PostgreSQL schemas for tests against the machine's PostgreSQL.
//!
//! Each test gets its own freshly created schema (`conf_<random>`) and a storage URL
//! whose connections use it as their search path, so parallel tests and repeated runs
//! never see each other's rows. The schema is dropped when the `PgSchema` is dropped,
//! including when the test fails.

use tokio_postgres::NoTls;

/// The database tests use: `BATON_TEST_POSTGRES_URL`, else the machine's PostgreSQL
/// (trust authentication, database `test`, user `postgres`).
pub fn base_url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `url` with its connections' search path set to `schema`.
pub fn url_with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// Runs SQL on the base database (its own connection).
pub async fn execute(url: &str, sql: &str) -> Result<(), String> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("cannot connect to the test PostgreSQL at {url}: {e}"))?;
    let task = tokio::spawn(conn);
    let r = client.batch_execute(sql).await.map_err(|e| {
        let m = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string());
        format!("`{sql}` failed: {m}")
    });
    drop(client);
    let _ = task.await;
    r
}

/// Runs a query answering one BIGINT (e.g. a count).
pub async fn query_i64(url: &str, sql: &str) -> Result<i64, String> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("cannot connect to the test PostgreSQL at {url}: {e}"))?;
    let task = tokio::spawn(conn);
    let r = client
        .query_one(sql, &[])
        .await
        .and_then(|row| row.try_get::<_, i64>(0))
        .map_err(|e| format!("`{sql}` failed: {e}"));
    drop(client);
    let _ = task.await;
    r
}

/// A schema that exists for the life of this value.
pub struct PgSchema {
    pub name: String,
    /// The storage URL to hand to the store or the server.
    pub url: String,
    base: String,
}

impl PgSchema {
    /// Creates a fresh schema on the test database. Panics with a clear message when
    /// PostgreSQL cannot be reached: the tests that use this need it.
    pub async fn create() -> PgSchema {
        let base = base_url();
        let name = format!(
            "conf_{}",
            baton_core::secret::hex(&baton_core::random_bytes::<8>())
        );
        execute(&base, &format!("CREATE SCHEMA {name}"))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL tests need a database: {e}"));
        PgSchema {
            url: url_with_schema(&base, &name),
            name,
            base,
        }
    }
}

/// How many times a schema's drop is tried (each after ending the sessions that hold
/// locks in it), each waiting at most `lock_timeout` for its lock.
const DROP_ATTEMPTS: usize = 5;

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Dropping may happen inside a runtime (end of a #[tokio::test]); run the
        // statements on a thread with its own small runtime and wait for it. That blocks
        // the test's runtime, so a connection of the test's server left inside a
        // transaction (a cleanup batch cut short when the server was dropped) can no
        // longer close: its session would hold its locks, and the DROP wait for them,
        // forever. So the sessions holding locks in this schema (none but this test's
        // use it) are ended first, and the DROP waits 5 s at most, then tries again.
        let name = self.name.clone();
        let sql = format!(
            "SET lock_timeout = '5s';
             SELECT pg_terminate_backend(l.pid) FROM pg_locks l
               JOIN pg_class c ON c.oid = l.relation
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = '{name}' AND l.pid <> pg_backend_pid();
             DROP SCHEMA IF EXISTS {name} CASCADE"
        );
        let base = self.base.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let mut last = Ok(());
            for _ in 0..DROP_ATTEMPTS {
                last = rt.block_on(execute(&base, &sql));
                if last.is_ok() {
                    break;
                }
            }
            last
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop test schema {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A schema is dropped even while a session of the test's own runtime sits inside a
    /// transaction in it (as a server's cleanup batch does when the server is dropped
    /// mid-batch): the drop blocks that runtime, so the session cannot close by itself.
    #[tokio::test]
    async fn a_schema_drops_while_a_blocked_session_holds_locks_in_it() {
        let schema = PgSchema::create().await;
        execute(&schema.url, "CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let (client, conn) = tokio_postgres::connect(&schema.url, NoTls).await.unwrap();
        tokio::spawn(conn);
        client
            .batch_execute("BEGIN; INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let name = schema.name.clone();
        drop(schema);
        let left = query_i64(
            &base_url(),
            &format!("SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{name}'"),
        )
        .await
        .unwrap();
        assert_eq!(left, 0, "the schema is gone");
        assert!(
            client.batch_execute("SELECT 1").await.is_err(),
            "its session was ended"
        );
    }
}
