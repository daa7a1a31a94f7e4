//! Where `persist = false` grants live: Redis when `storage.cache_url` is set, else the
//! server's process memory.

use crate::memory::MemoryGrants;
use crate::redis::RedisGrants;
use baton_core::store::{GrantStore, StoreResult};
use baton_core::time::Timestamp;
use std::sync::Arc;

#[derive(Clone)]
pub enum GrantCache {
    Memory(Arc<MemoryGrants>),
    Redis(Arc<RedisGrants>),
}

impl GrantCache {
    /// The in-process cache, remembering revoked grants for `retain_revoked_ms`.
    pub fn memory(retain_revoked_ms: i64) -> Self {
        GrantCache::Memory(Arc::new(MemoryGrants::new(retain_revoked_ms)))
    }

    /// Connects to Redis (see [`RedisGrants::connect`]).
    pub async fn redis(
        url: &str,
        tls: &crate::tls::RedisTlsFiles,
        prefix: &str,
        retain_revoked_ms: i64,
    ) -> StoreResult<Self> {
        Ok(GrantCache::Redis(Arc::new(
            RedisGrants::connect(url, tls, prefix, retain_revoked_ms).await?,
        )))
    }

    /// Whether this is Redis (which `/readyz` checks), not process memory.
    pub fn is_redis(&self) -> bool {
        matches!(self, GrantCache::Redis(_))
    }

    pub fn grants(&self) -> &dyn GrantStore {
        match self {
            GrantCache::Memory(m) => m.as_ref(),
            GrantCache::Redis(r) => r.as_ref(),
        }
    }

    /// Drops in-process grants whose life is over; Redis expires its keys itself.
    /// Answers how many were dropped.
    pub fn sweep(&self, now: Timestamp) -> usize {
        match self {
            GrantCache::Memory(m) => m.sweep(now),
            GrantCache::Redis(_) => 0,
        }
    }

    /// Checks the cache answers (readiness).
    pub async fn ping(&self) -> StoreResult<()> {
        match self {
            GrantCache::Memory(_) => Ok(()),
            GrantCache::Redis(r) => r.ping().await,
        }
    }

    /// What makes the cache unfit to rely on, as far as can be seen now, by the rule
    /// start-up applies: Redis configured to evict keys (`maxmemory-policy` other than
    /// `noeviction`), or a Redis that answers but will not tell its policy (neither
    /// `CONFIG GET` nor `INFO memory` allowed). A Redis that does not answer is not
    /// reported here: only `persist = false` grants need it, and they answer 503
    /// meanwhile.
    pub async fn misconfiguration(&self) -> Option<String> {
        match self {
            GrantCache::Memory(_) => None,
            GrantCache::Redis(r) => match r.eviction_policy().await {
                Ok(p) => crate::redis::policy_problem(&p),
                // Redis answers but will not tell: the error (which can name the Redis
                // user) goes to the log, the answer (shown by /readyz) is fixed text.
                Err(e) => r.ping().await.ok().map(|()| {
                    tracing::warn!(error = %e, "redis: cannot read maxmemory-policy");
                    "cannot read maxmemory-policy (CONFIG GET and INFO memory both refused; the server log says why)".to_string()
                }),
            },
        }
    }
}
