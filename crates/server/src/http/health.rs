//! Liveness and readiness.

use super::error::NotReady;
use crate::state::Shared;
use axum::extract::State;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the store answers and the Redis cache (if any) is not configured to
/// evict keys. A Redis that does not answer leaves the node ready: only
/// `persist = false` grants need it (they answer 503 meanwhile), and every node shares
/// it, so failing readiness would take the whole service down for them.
pub async fn readyz(State(st): State<Shared>) -> Result<&'static str, NotReady> {
    if st.store.ping().await.is_err() {
        return Err(NotReady("store unavailable".to_string()));
    }
    // Bounded: a Redis that does not answer must not hold up the health check.
    let check = st.cache.misconfiguration();
    match tokio::time::timeout(std::time::Duration::from_millis(500), check)
        .await
        .ok()
        .flatten()
    {
        Some(why) => Err(NotReady(format!("cache: {why}"))),
        None => Ok("ready"),
    }
}
