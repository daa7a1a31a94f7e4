//! The Redis cache for `persist = false` grants (`storage.cache_url`): shared by every
//! node, fast, not durable.
//!
//! Layout, every key under a prefix (`storage.cache_prefix`, default `baton:`):
//!
//! - `{p}g:{grant id hex}`: a hash per grant. `d` holds the fields that never change
//!   (JSON); `gen`, `gen_at`, `used`, `st` (`a`ctive / `r`evoked), `rev_at`,
//!   `rev_reason` the ones that do; `exp` / `sl` (absolute expiry, sliding window, ms)
//!   let the scripts compute the TTL; `idx` names the index keys the grant is in.
//! - `{p}i:all`, `{p}i:c:{hex client}`, `{p}i:s:{hex subject}`,
//!   `{p}i:cs:{hex client}:{hex subject}`, `{p}i:ss:{hex session}`: sorted sets of grant
//!   ids scored by `created_at`, so that listings come newest first (ties by id, like
//!   the SQL stores). A member whose grant has expired is dropped when met.
//!
//! TTLs: an active grant's key lives for its remaining life (whichever of the absolute
//! and sliding clocks runs out first) plus `cleanup.retain_revoked`; a revoked one for
//! `retain_revoked` after its revocation, so that replays are still recognised, as in
//! [`crate::MemoryGrants::sweep`]. The TTL is computed from the server's clock (`now`
//! of each operation), recomputed on every rotation and touch. An index key lives as
//! long as the longest-lived grant in it. A grant with no expiry has no TTL.
//!
//! Every write is one Lua script (sent with EVALSHA, falling back to EVAL when the
//! server does not know it), so insertion, the compare-and-swap of rotation, touch and
//! revocation are each atomic in Redis. Standalone Redis only (the scripts touch the
//! index keys a grant names, which Redis Cluster would refuse across slots).
//!
//! Nothing here may be evicted: start-up refuses a Redis whose `maxmemory-policy` is
//! not `noeviction` ([`policy_problem`]). The indexes serve listing and the direct part
//! of bulk revocation only: a bulk revocation also writes revocation markers in the
//! main store, checked whenever a cached grant is used, so a lost index key (or Redis
//! being down during the revocation) cannot keep a grant alive.
//!
//! Errors: every Redis failure is `StoreError::Unavailable`; the connection manager
//! reconnects by itself, with short timeouts so that a Redis outage answers 503 quickly
//! instead of hanging requests.

use crate::memory::matches;
use baton_core::error::StoreError;
use baton_core::model::{Event, Grant, GrantId};
use baton_core::secret::hex;
use baton_core::store::{BoxFuture, GrantFilter, GrantStore, Revocation, StoreResult};
use baton_core::time::Timestamp;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::time::Duration;

mod hash;
use hash::{decode, encode};

/// The key prefix when `storage.cache_prefix` is not set.
pub const DEFAULT_PREFIX: &str = "baton:";

/// How long one Redis command (or one connection attempt) may take before the request
/// fails with 503.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The shortest time a revoked grant stays, whatever `retain_revoked` says: the
/// server reads it back right after revoking it (for its `grant.revoked` event).
const MIN_RETAIN_MS: i64 = 60_000;

/// Grants read per round trip while listing.
const CHUNK: isize = 100;

/// Shared by the scripts: the TTL a grant's key should have now (`-1`: none), and
/// setting it on the grant and (only ever lengthening) on its index keys.
const LUA_TTL: &str = r#"
local function ttl_for(key, now, retain)
  local f = redis.call('HMGET', key, 'exp', 'sl', 'used')
  local e = nil
  if f[1] and f[1] ~= '' then e = tonumber(f[1]) end
  if f[2] and f[2] ~= '' then
    local s = tonumber(f[3]) + tonumber(f[2])
    if e == nil or s < e then e = s end
  end
  if e == nil then return -1 end
  local t = e + retain - now
  if t < 1 then t = 1 end
  return t
end
local function set_index_ttl(k, ttl, fresh)
  if ttl == -1 then
    redis.call('PERSIST', k)
  elseif fresh then
    redis.call('PEXPIRE', k, string.format('%d', ttl))
  else
    local t = redis.call('PTTL', k)
    if t >= 0 and t < ttl then redis.call('PEXPIRE', k, string.format('%d', ttl)) end
  end
end
local function apply_ttl(key, ttl)
  if ttl == -1 then
    redis.call('PERSIST', key)
  else
    redis.call('PEXPIRE', key, string.format('%d', ttl))
  end
  local idx = redis.call('HGET', key, 'idx')
  for k in string.gmatch(idx or '', '%S+') do set_index_ttl(k, ttl, false) end
end
"#;

/// KEYS[1] grant, KEYS[2..] its indexes; ARGV: score, member, now, retain, then the
/// hash's field/value pairs. Answers 0 if the grant exists.
const LUA_INSERT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
local ttl = ttl_for(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]))
if ttl ~= -1 then redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl)) end
for i = 2, #KEYS do
  local fresh = redis.call('EXISTS', KEYS[i]) == 0
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[2])
  set_index_ttl(KEYS[i], ttl, fresh)
end
return 1
"#;

/// The compare-and-swap of rotation. KEYS[1] grant; ARGV: expected, now, retain.
const LUA_ADVANCE: &str = r#"
local f = redis.call('HMGET', KEYS[1], 'st', 'gen')
if f[1] ~= 'a' or f[2] ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'gen_at', ARGV[2], 'used', ARGV[2])
apply_ttl(KEYS[1], ttl_for(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3])))
return 1
"#;

/// KEYS[1] grant; ARGV: now, retain. `last_used_at` never goes back.
const LUA_TOUCH: &str = r#"
local f = redis.call('HMGET', KEYS[1], 'st', 'used')
if not f[1] then return 0 end
if tonumber(ARGV[1]) <= tonumber(f[2]) then return 0 end
redis.call('HSET', KEYS[1], 'used', ARGV[1])
if f[1] == 'a' then
  apply_ttl(KEYS[1], ttl_for(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])))
end
return 1
"#;

/// KEYS: grants; ARGV: now, reason, retain. Revokes the active ones; answers their
/// positions in KEYS (1-based).
const LUA_REVOKE: &str = r#"
local out = {}
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], 'st') == 'a' then
    redis.call('HSET', KEYS[i], 'st', 'r', 'rev_at', ARGV[1], 'rev_reason', ARGV[2])
    apply_ttl(KEYS[i], tonumber(ARGV[3]))
    out[#out + 1] = i
  end
end
return out
"#;

/// The Redis cache for `persist = false` grants.
pub struct RedisGrants {
    conn: ConnectionManager,
    prefix: String,
    /// How long a revoked (or expired) grant is remembered, so that replays are still
    /// recognised.
    retain_revoked_ms: i64,
    insert: Script,
    advance: Script,
    touch: Script,
    revoke: Script,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("stored cached grant could not be decoded".into())
}

fn script(body: &str) -> Script {
    Script::new(&format!("{LUA_TTL}\n{body}"))
}

impl RedisGrants {
    /// Connects to `url` (`redis://` or, over TLS, `rediss://[user:password@]host:port[/db]`)
    /// and checks that Redis answers and is a standalone server (Sentinel and Cluster
    /// are refused). `tls` names the CA and client certificate files of a `rediss://`
    /// URL (the system's CAs when no CA file is named); the server's certificate and
    /// host name are always checked. The error names the URL without its password.
    pub async fn connect(
        url: &str,
        tls: &crate::tls::RedisTlsFiles,
        prefix: &str,
        retain_revoked_ms: i64,
    ) -> StoreResult<Self> {
        let shown = crate::redact_url(url);
        if let Some(why) = unsupported_url(url) {
            return Err(StoreError::Unavailable(format!("`{shown}`: {why}")));
        }
        let client = if url.starts_with("rediss://") {
            crate::tls::install_default_provider();
            let certs = tls
                .load()
                .map_err(|(key, m)| StoreError::Unavailable(format!("storage.{key}: {m}")))?;
            redis::Client::build_with_tls(url, certs)
        } else if !tls.is_empty() {
            return Err(StoreError::Unavailable(format!(
                "`{shown}`: TLS files are set but the URL is not rediss://"
            )));
        } else {
            redis::Client::open(url)
        }
        .map_err(|e| StoreError::Unavailable(format!("invalid redis url `{shown}`: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot reach redis at `{shown}`: {e}{}",
                    tls_hint(&e.to_string())
                ))
            })?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot reach redis at `{shown}`: {e}"))
            })?;
        if cluster_enabled(&mut conn).await {
            return Err(StoreError::Unavailable(format!(
                "redis at `{shown}` runs in cluster mode (cluster_enabled:1): Redis Cluster is not supported (a grant's Lua scripts touch its index keys, which Cluster would spread across slots); use a standalone Redis"
            )));
        }
        let policy = eviction_policy(&mut conn).await?;
        if let Some(why) = policy_problem(&policy) {
            return Err(StoreError::Unavailable(format!(
                "redis at `{shown}`: {why}"
            )));
        }
        Ok(RedisGrants {
            conn,
            prefix: prefix.to_string(),
            retain_revoked_ms,
            insert: script(LUA_INSERT),
            advance: script(LUA_ADVANCE),
            touch: script(LUA_TOUCH),
            revoke: script(LUA_REVOKE),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of a grant's hash.
    pub fn grant_key(&self, id: GrantId) -> String {
        format!("{}g:{}", self.prefix, id.to_hex())
    }

    fn all_key(&self) -> String {
        format!("{}i:all", self.prefix)
    }

    fn index_keys(&self, g: &Grant) -> Vec<String> {
        let p = &self.prefix;
        let c = hex(g.client_id.as_bytes());
        let s = hex(g.subject.as_bytes());
        let mut v = vec![
            self.all_key(),
            format!("{p}i:c:{c}"),
            format!("{p}i:s:{s}"),
            format!("{p}i:cs:{c}:{s}"),
        ];
        if let Some(sess) = &g.session_id {
            v.push(format!("{p}i:ss:{}", hex(sess.as_bytes())));
        }
        v
    }

    /// The index that holds every grant a filter can match (`None`: a single grant).
    fn filter_index(&self, filter: Option<&GrantFilter>) -> Option<String> {
        let p = &self.prefix;
        match filter {
            None => Some(self.all_key()),
            Some(GrantFilter::Grant(_)) => None,
            Some(GrantFilter::Client(c)) => Some(format!("{p}i:c:{}", hex(c.as_bytes()))),
            Some(GrantFilter::Subject(s)) => Some(format!("{p}i:s:{}", hex(s.as_bytes()))),
            Some(GrantFilter::ClientSubject { client_id, subject }) => Some(format!(
                "{p}i:cs:{}:{}",
                hex(client_id.as_bytes()),
                hex(subject.as_bytes())
            )),
            Some(GrantFilter::Session(s))
            | Some(GrantFilter::SessionOnline(s))
            | Some(GrantFilter::SessionClients { session_id: s, .. }) => {
                Some(format!("{p}i:ss:{}", hex(s.as_bytes())))
            }
        }
    }

    /// Checks Redis answers.
    pub async fn ping(&self) -> StoreResult<()> {
        let mut c = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Redis's `maxmemory-policy` now (read at every readiness check: it can be
    /// changed at run time).
    pub async fn eviction_policy(&self) -> StoreResult<String> {
        let mut c = self.conn.clone();
        eviction_policy(&mut c).await
    }

    /// Deletes every key under this store's prefix (tests clean up with it). Answers
    /// how many keys were deleted.
    pub async fn delete_all(&self) -> StoreResult<u64> {
        let mut c = self.conn.clone();
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut deleted = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut c)
                .await
                .map_err(unavailable)?;
            if !keys.is_empty() {
                deleted += c.del::<_, u64>(&keys).await.map_err(unavailable)?;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// Reads grants by id, in order; `None` for those gone.
    async fn fetch(&self, ids: &[String]) -> StoreResult<Vec<Option<Grant>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn.clone();
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(format!("{}g:{id}", self.prefix));
        }
        let maps: Vec<HashMap<String, String>> =
            pipe.query_async(&mut c).await.map_err(unavailable)?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, m) in ids.iter().zip(maps) {
            if m.is_empty() {
                out.push(None);
            } else {
                let gid = GrantId::parse(id).ok_or_else(corrupt)?;
                out.push(Some(decode(gid, &m)?));
            }
        }
        Ok(out)
    }

    /// Drops index members whose grant has expired.
    async fn prune(&self, index: &str, gone: &[String]) {
        if gone.is_empty() {
            return;
        }
        let mut c = self.conn.clone();
        if let Err(e) = c.zrem::<_, _, i64>(index, gone).await {
            tracing::debug!(error = %e, "pruning a redis grant index failed");
        }
    }

    /// The ids of an index from rank `start` (newest first), `count` of them (`-1`: to
    /// the end), and their grants (`None` for those expired).
    async fn read_index(
        &self,
        index: &str,
        start: isize,
        count: isize,
    ) -> StoreResult<Vec<(String, Option<Grant>)>> {
        let mut c = self.conn.clone();
        let stop = if count < 0 { -1 } else { start + count - 1 };
        let ids: Vec<String> = c.zrevrange(index, start, stop).await.map_err(unavailable)?;
        let grants = self.fetch(&ids).await?;
        Ok(ids.into_iter().zip(grants).collect())
    }

    /// Every grant matching a filter (all statuses).
    async fn matching(&self, filter: &GrantFilter) -> StoreResult<Vec<Grant>> {
        let found = match self.filter_index(Some(filter)) {
            None => match filter {
                GrantFilter::Grant(id) => self
                    .fetch(&[id.to_hex()])
                    .await?
                    .into_iter()
                    .flatten()
                    .collect(),
                _ => Vec::new(),
            },
            Some(index) => {
                let mut gone = Vec::new();
                let mut found = Vec::new();
                for (id, g) in self.read_index(&index, 0, -1).await? {
                    match g {
                        Some(g) => found.push(g),
                        None => gone.push(id),
                    }
                }
                self.prune(&index, &gone).await;
                found
            }
        };
        Ok(found.into_iter().filter(|g| matches(filter, g)).collect())
    }
}

/// Reads `maxmemory-policy`: `CONFIG GET`, or where CONFIG is disabled (managed
/// Redis services often rename it) the `maxmemory_policy` line of `INFO memory`.
async fn eviction_policy(c: &mut ConnectionManager) -> StoreResult<String> {
    let by_config: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(c)
        .await;
    if let Ok(v) = by_config {
        if let Some(p) = v.get(1) {
            return Ok(p.clone());
        }
    }
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(c)
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "redis: cannot read maxmemory-policy (CONFIG GET and INFO memory both refused: {e})"
            ))
        })?;
    info.lines()
        .find_map(|l| l.trim().strip_prefix("maxmemory_policy:"))
        .map(str::to_string)
        .ok_or_else(|| {
            StoreError::Unavailable(
                "redis: cannot read maxmemory-policy (neither CONFIG GET nor INFO memory tell it)"
                    .into(),
            )
        })
}

/// Why a cache URL cannot be used, for the deployments Baton does not support: Redis
/// Sentinel (`redis+sentinel://`: fail-over can lose acknowledged writes, and a
/// compare-and-swap that was answered must stay done) and TLS with verification turned
/// off (`#insecure`).
pub fn unsupported_url(url: &str) -> Option<&'static str> {
    let scheme = url.split("://").next().unwrap_or("").to_ascii_lowercase();
    if scheme.contains("sentinel") {
        return Some("Redis Sentinel is not supported (a fail-over can lose writes Redis already acknowledged, such as a rotation); use a standalone Redis");
    }
    if scheme != "redis" && scheme != "rediss" {
        return Some("expected redis:// or rediss://");
    }
    if url.contains('#') {
        return Some("a fragment (such as `#insecure`) is not allowed: certificate verification cannot be turned off");
    }
    None
}

/// What to do about a TLS failure, from the error's text.
fn tls_hint(error: &str) -> &'static str {
    if error.contains("invalid peer certificate") {
        " (the Redis server's certificate does not verify against `storage.cache_ca_file`, or the system's CAs without it, or does not name the URL's host)"
    } else if error.contains("CertificateRequired") {
        " (Redis requires a client certificate: set `storage.cache_cert_file` and `storage.cache_key_file`)"
    } else {
        ""
    }
}

/// Whether the server says it runs in cluster mode (`INFO cluster`). A server that
/// will not answer INFO is taken as standalone: its eviction-policy check decides.
async fn cluster_enabled(conn: &mut ConnectionManager) -> bool {
    match redis::cmd("INFO")
        .arg("cluster")
        .query_async::<String>(conn)
        .await
    {
        Ok(info) => info.lines().any(|l| l.trim() == "cluster_enabled:1"),
        Err(_) => false,
    }
}

/// Why an eviction policy is unfit, if it is: Redis must never evict a key on its
/// own. Every grant hash and index key has a TTL, so the `volatile-*` policies can
/// evict them as well as the `allkeys-*` ones; an evicted grant would fail its
/// refreshes, an evicted index would hide its grants from bulk revocation's sweep.
pub fn policy_problem(policy: &str) -> Option<String> {
    if policy == "noeviction" {
        None
    } else {
        Some(format!(
            "maxmemory-policy is `{policy}`: Baton needs `noeviction` (set \
             `maxmemory-policy noeviction`), or Redis may evict the grants and indexes it keeps"
        ))
    }
}

fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl GrantStore for RedisGrants {
    fn insert_grant<'a>(
        &'a self,
        grant: &'a Grant,
        _event: Event,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let idx = self.index_keys(grant);
            let mut inv = self.insert.key(self.grant_key(grant.id));
            for k in &idx {
                inv.key(k);
            }
            inv.arg(grant.created_at.0)
                .arg(grant.id.to_hex())
                .arg(grant.created_at.0)
                .arg(self.retain_revoked_ms);
            for (k, v) in encode(grant, &idx) {
                inv.arg(k).arg(v);
            }
            let mut c = self.conn.clone();
            let done: i64 = inv.invoke_async(&mut c).await.map_err(unavailable)?;
            if done == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("grant id exists".into()))
            }
        })
    }

    fn get_grant(&self, id: GrantId) -> BoxFuture<'_, StoreResult<Option<Grant>>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let m: HashMap<String, String> =
                c.hgetall(self.grant_key(id)).await.map_err(unavailable)?;
            if m.is_empty() {
                return Ok(None);
            }
            decode(id, &m).map(Some)
        })
    }

    fn advance(
        &self,
        id: GrantId,
        expected: u64,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let won: i64 = self
                .advance
                .key(self.grant_key(id))
                .arg(expected.to_string())
                .arg(now.0)
                .arg(self.retain_revoked_ms)
                .invoke_async(&mut c)
                .await
                .map_err(unavailable)?;
            Ok(won == 1)
        })
    }

    fn touch(&self, id: GrantId, now: Timestamp) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let _: i64 = self
                .touch
                .key(self.grant_key(id))
                .arg(now.0)
                .arg(self.retain_revoked_ms)
                .invoke_async(&mut c)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
    }

    fn bind_key<'a>(&'a self, id: GrantId, jkt: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let bound: i64 = Script::new(
                "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end \
                 return redis.call('HSETNX', KEYS[1], 'jkt', ARGV[1])",
            )
            .key(self.grant_key(id))
            .arg(jkt)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
            Ok(bound == 1)
        })
    }

    fn revoke<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        Box::pin(async move {
            // Which grants a filter names never changes (client, subject, session and
            // `online` are fixed at creation), so choosing them before the script is
            // safe; the script revokes those still active, atomically.
            let ids: Vec<GrantId> = self
                .matching(filter)
                .await?
                .into_iter()
                .filter(Grant::is_active)
                .map(|g| g.id)
                .collect();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut inv = self.revoke.prepare_invoke();
            for id in &ids {
                inv.key(self.grant_key(*id));
            }
            inv.arg(why.now.0)
                .arg(&why.reason)
                .arg(self.retain_revoked_ms.max(MIN_RETAIN_MS));
            let mut c = self.conn.clone();
            let done: Vec<usize> = inv.invoke_async(&mut c).await.map_err(unavailable)?;
            Ok(done
                .into_iter()
                .filter_map(|i| ids.get(i.wrapping_sub(1)).copied())
                .collect())
        })
    }

    fn list_grants<'a>(
        &'a self,
        filter: Option<&'a GrantFilter>,
        after: Option<GrantId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Grant>>> {
        Box::pin(async move {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let Some(index) = self.filter_index(filter) else {
                // A single grant.
                let mut v = match filter {
                    Some(f) => self.matching(f).await?,
                    None => Vec::new(),
                };
                if after.is_some_and(|a| v.iter().any(|g| g.id == a)) {
                    v.clear();
                }
                return Ok(v);
            };
            // Each chunk starts after the last id read, found again by rank, so that
            // grants inserted meanwhile do not shift the page.
            let mut c = self.conn.clone();
            let mut last = after.map(|a| a.to_hex());
            let mut next: isize = 0;
            let mut out = Vec::new();
            loop {
                if let Some(id) = &last {
                    let rank: Option<isize> = c.zrevrank(&index, id).await.map_err(unavailable)?;
                    if let Some(r) = rank {
                        next = r + 1;
                    }
                }
                let chunk = self.read_index(&index, next, CHUNK).await?;
                let ended = (chunk.len() as isize) < CHUNK;
                next += chunk.len() as isize;
                if let Some((id, _)) = chunk.last() {
                    last = Some(id.clone());
                }
                out.extend(
                    chunk
                        .into_iter()
                        .filter_map(|(_, g)| g)
                        .filter(|g| filter.is_none_or(|f| matches(f, g))),
                );
                if out.len() >= limit || ended {
                    break;
                }
            }
            out.truncate(limit);
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests;
