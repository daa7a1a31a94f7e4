//! Liveness and readiness.

use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the store answers and the Redis cache (if any) is not configured to
/// evict keys. A Redis that does not answer leaves the node ready: only
/// `persist = false` grants need it (they answer 503 meanwhile), and every node shares
/// it, so failing readiness would take the whole service down for them.
pub async fn readyz(State(st): State<Shared>) -> (StatusCode, String) {
    if st.store.ping().await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "store unavailable".to_string(),
        );
    }
    // Bounded: a Redis that does not answer must not hold up the health check.
    let check = st.cache.misconfiguration();
    match tokio::time::timeout(std::time::Duration::from_millis(500), check)
        .await
        .ok()
        .flatten()
    {
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("cache: {why}")),
        None => (StatusCode::OK, "ready".to_string()),
    }
}
