//! Storage backends behind `baton_core::store`: SQLite (embedded default),
//! PostgreSQL (several nodes on one database) and the in-process cache for
//! `persist = false` grants (in process memory or Redis).

pub mod cache;
pub mod codec;
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod sqlite;
pub mod tls;

use baton_core::error::StoreError;
use baton_core::model::Grant;
use baton_core::store::Store;
use std::sync::Arc;

pub use cache::GrantCache;
pub use memory::MemoryGrants;
pub use postgres::PgStore;
pub use redis::RedisGrants;
pub use sqlite::SqliteStore;

/// Opens (and migrates) the main store named by a `storage.url`: `sqlite://PATH` or
/// `postgres://…` / `postgresql://…`. `pool_size` bounds the PostgreSQL connection
/// pool (`storage.pool_size`); SQLite ignores it.
pub async fn open(url: &str, pool_size: usize) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match open_backend(url, pool_size).await? {
        Backend::Sqlite(s) => Arc::new(s),
        Backend::Postgres(p) => Arc::new(*p),
    })
}

/// The concrete store a `storage.url` names, opened and migrated.
enum Backend {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

async fn open_backend(url: &str, pool_size: usize) -> Result<Backend, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Backend::Sqlite(SqliteStore::open(path)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(Box::new(
            PgStore::open(url, pool_size).await?,
        )));
    }
    Err(StoreError::Unavailable(format!(
        "unsupported storage url scheme in `{}`: expected sqlite://PATH or postgres://…",
        redact_url(url)
    )))
}

/// Bulk seeding of grants straight into the main store, for benchmarks at scale
/// (`baton seed-grants`): SQLite inserts each batch in one transaction of its writer,
/// PostgreSQL copies it in (`COPY … FROM STDIN`, binary). Seeded grants get no
/// `grant.created` event, and nothing is checked: the caller builds them as the server
/// would.
pub struct Seeder(Backend);

impl Seeder {
    /// Opens (and migrates) the main store named by `url`, as [`open`] does.
    pub async fn open(url: &str, pool_size: usize) -> Result<Seeder, StoreError> {
        open_backend(url, pool_size).await.map(Seeder)
    }

    /// Inserts one batch (some tens of thousands of grants is the size to aim for).
    pub async fn seed_grants(&self, grants: Vec<Grant>) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Sqlite(s) => s.seed_grants(grants).await,
            Backend::Postgres(p) => p.seed_grants(&grants).await,
        }
    }

    /// Lets the store finish and stop.
    pub fn close(&self) {
        match &self.0 {
            Backend::Sqlite(s) => s.close(),
            Backend::Postgres(p) => p.close(),
        }
    }
}

/// A URL with any password removed, for messages: the one in the userinfo
/// (`user:***@host`) and a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &base[..s + 3], &creds[..c], &base[at..]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redact_url_hides_passwords() {
        assert_eq!(
            redact_url("postgres://baton:s3cret@db.example:5432/baton"),
            "postgres://baton:***@db.example:5432/baton"
        );
        assert_eq!(
            redact_url("postgres://baton@db/baton?password=s3cret&sslmode=disable"),
            "postgres://baton@db/baton?password=***&sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://u:p@h/d?options=-csearch_path%3Dx"),
            "postgres://u:***@h/d?options=-csearch_path%3Dx"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/baton.db"),
            "sqlite:///var/lib/baton.db"
        );
    }
}
