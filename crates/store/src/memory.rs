//! The in-process cache for `persist = false` grants: fast, not durable. Each grant
//! is kept until its remaining life runs out (its TTL), then dropped on access or by
//! `sweep`. Rotation is a compare-and-swap under the map's lock.

use baton_core::error::StoreError;
use baton_core::model::{Event, Grant, GrantId, GrantStatus};
use baton_core::store::{BoxFuture, GrantFilter, GrantStore, Revocation, StoreResult};
use baton_core::time::Timestamp;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

pub struct MemoryGrants {
    grants: Mutex<HashMap<GrantId, Grant>>,
    /// How long a revoked grant is remembered, so that replays are still recognised.
    retain_revoked_ms: i64,
}

impl MemoryGrants {
    pub fn new(retain_revoked_ms: i64) -> Self {
        MemoryGrants {
            grants: Mutex::new(HashMap::new()),
            retain_revoked_ms,
        }
    }

    fn map(&self) -> StoreResult<MutexGuard<'_, HashMap<GrantId, Grant>>> {
        self.grants
            .lock()
            .map_err(|_| StoreError::Unavailable("cache lock poisoned".into()))
    }

    /// Drops grants whose life (or revoked retention) is over. Answers how many.
    pub fn sweep(&self, now: Timestamp) -> usize {
        let Ok(mut m) = self.map() else { return 0 };
        let before = m.len();
        let retain = self.retain_revoked_ms;
        m.retain(|_, g| match &g.status {
            GrantStatus::Revoked { at, .. } => now.0 < at.0 + retain,
            GrantStatus::Active => g.expiry().is_none_or(|e| now.0 < e.0 + retain),
        });
        before - m.len()
    }
}

pub fn matches(filter: &GrantFilter, g: &Grant) -> bool {
    match filter {
        GrantFilter::Grant(id) => g.id == *id,
        GrantFilter::Client(c) => g.client_id == *c,
        GrantFilter::Subject(s) => g.subject == *s,
        GrantFilter::ClientSubject { client_id, subject } => {
            g.client_id == *client_id && g.subject == *subject
        }
        GrantFilter::Session(s) => g.session_id.as_deref() == Some(s),
        GrantFilter::SessionOnline(s) => g.online && g.session_id.as_deref() == Some(s),
        GrantFilter::SessionClients {
            session_id,
            client_ids,
        } => g.session_id.as_deref() == Some(session_id) && client_ids.contains(&g.client_id),
    }
}

impl GrantStore for MemoryGrants {
    fn insert_grant<'a>(
        &'a self,
        grant: &'a Grant,
        _event: Event,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut m = self.map()?;
            if m.contains_key(&grant.id) {
                return Err(StoreError::Conflict("grant id exists".into()));
            }
            m.insert(grant.id, grant.clone());
            Ok(())
        })
    }

    fn get_grant(&self, id: GrantId) -> BoxFuture<'_, StoreResult<Option<Grant>>> {
        Box::pin(async move { Ok(self.map()?.get(&id).cloned()) })
    }

    fn advance(
        &self,
        id: GrantId,
        expected: u64,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let mut m = self.map()?;
            match m.get_mut(&id) {
                Some(g) if g.generation == expected && g.is_active() => {
                    g.generation += 1;
                    g.generation_started_at = now;
                    g.last_used_at = now;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    fn touch(&self, id: GrantId, now: Timestamp) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            if let Some(g) = self.map()?.get_mut(&id) {
                g.last_used_at = g.last_used_at.max(now);
            }
            Ok(())
        })
    }

    fn bind_key<'a>(&'a self, id: GrantId, jkt: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            Ok(match self.map()?.get_mut(&id) {
                Some(g) if g.dpop_jkt.is_none() => {
                    g.dpop_jkt = Some(jkt.to_string());
                    true
                }
                _ => false,
            })
        })
    }

    fn revoke<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        Box::pin(async move {
            let mut m = self.map()?;
            let mut out = Vec::new();
            for g in m.values_mut() {
                if g.is_active() && matches(filter, g) {
                    g.status = GrantStatus::Revoked {
                        at: why.now,
                        reason: why.reason.clone(),
                    };
                    out.push(g.id);
                }
            }
            Ok(out)
        })
    }

    fn list_grants<'a>(
        &'a self,
        filter: Option<&'a GrantFilter>,
        after: Option<GrantId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Grant>>> {
        Box::pin(async move {
            let m = self.map()?;
            let mut v: Vec<Grant> = m
                .values()
                .filter(|g| filter.is_none_or(|f| matches(f, g)))
                .cloned()
                .collect();
            v.sort_by_key(|g| std::cmp::Reverse((g.created_at, g.id)));
            if let Some(a) = after {
                if let Some(pos) = v.iter().position(|g| g.id == a) {
                    v.drain(..=pos);
                }
            }
            v.truncate(limit);
            Ok(v)
        })
    }
}
