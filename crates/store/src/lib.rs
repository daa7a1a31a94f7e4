//! Storage backends behind `baton_core::store`: SQLite (embedded default) and the
//! in-process cache for `persist = false` grants.

pub mod codec;
pub mod memory;
pub mod sqlite;

use baton_core::error::StoreError;
use std::sync::Arc;

pub use memory::MemoryGrants;
pub use sqlite::SqliteStore;

/// Opens the main store named by a `storage.url`.
pub fn open(url: &str) -> Result<Arc<SqliteStore>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return SqliteStore::open(path).map(Arc::new);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(StoreError::Unavailable(
            "PostgreSQL storage is not available in this build yet; use sqlite://PATH".into(),
        ));
    }
    Err(StoreError::Unavailable(format!(
        "unsupported storage url scheme in `{}`: expected sqlite://PATH",
        redact_url(url)
    )))
}

/// A URL with any password removed, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
