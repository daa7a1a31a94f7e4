//! Liveness and readiness.

use super::error::NotReady;
use crate::state::Shared;
use axum::extract::State;
use baton_proto::health::Readiness;
use std::time::Duration;

/// How long one check may take before its store counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready (`200 ready`) when every store this node depends on answers: the main store,
/// and the Redis cache when `storage.cache_url` is set (which must also not be
/// configured to evict keys). Otherwise 503 with a JSON body naming each check's
/// result, so that an operator sees which one is down. A Redis outage takes every node
/// out of rotation together (they share it): grants with `persist = false` cannot be
/// refreshed meanwhile, and the load balancer is told rather than left to find out.
pub async fn readyz(State(st): State<Shared>) -> Result<&'static str, NotReady> {
    let storage = async {
        match tokio::time::timeout(CHECK_TIMEOUT, st.store.ping()).await {
            Ok(Ok(())) => "ok".to_string(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the main store is down");
                "down: not answering".to_string()
            }
            Err(_) => "down: no answer within 1.5 s".to_string(),
        }
    };
    let cache = async {
        if !st.cache.is_redis() {
            return None;
        }
        let check = async {
            match st.cache.ping().await {
                Err(e) => {
                    tracing::warn!(error = %e, "readiness: the Redis cache is down");
                    "down: not answering".to_string()
                }
                Ok(()) => match st.cache.misconfiguration().await {
                    Some(why) => format!("misconfigured: {why}"),
                    None => "ok".to_string(),
                },
            }
        };
        Some(
            tokio::time::timeout(CHECK_TIMEOUT, check)
                .await
                .unwrap_or_else(|_| "down: no answer within 1.5 s".to_string()),
        )
    };
    let (storage, cache) = tokio::join!(storage, cache);
    let ready = storage == "ok" && cache.as_deref().is_none_or(|c| c == "ok");
    if ready {
        return Ok("ready");
    }
    let mut checks = std::collections::BTreeMap::new();
    checks.insert("storage".to_string(), storage);
    if let Some(c) = cache {
        checks.insert("cache".to_string(), c);
    }
    Err(NotReady(Readiness {
        status: "unavailable".into(),
        checks,
    }))
}
