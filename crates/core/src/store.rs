//! The storage traits the domain needs. Backends (SQLite, PostgreSQL, the Redis or
//! in-process cache) live in `baton-store`; the domain sees only these.
//!
//! Futures are boxed so that the server can hold `Arc<dyn Store>` and choose the
//! backend from configuration at start-up.

use crate::error::StoreError;
use crate::model::{
    AuthCode, Client, CodeUse, Event, Grant, GrantId, ReferenceToken, Session, SigningKey, User,
};
use crate::time::Timestamp;
pub use baton_proto::settings::Settings;
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type StoreResult<T> = Result<T, StoreError>;

/// Which grants a bulk revocation (or a listing) covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantFilter {
    Grant(GrantId),
    Client(String),
    Subject(String),
    ClientSubject {
        client_id: String,
        subject: String,
    },
    /// Every grant created in a session.
    Session(String),
    /// Only the grants bound to a session (`online_access`).
    SessionOnline(String),
    /// The grants of a session for the given clients (logout with `revoke_on_logout`).
    SessionClients {
        session_id: String,
        client_ids: Vec<String>,
    },
}

/// Why grants are being revoked; the store writes one `grant.revoked` event per grant
/// it revokes, with this reason, plus `extra_events`, in the same transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Revocation {
    pub reason: String,
    pub now: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub extra_events: Vec<Event>,
}

/// Grants: the hot path. Implemented by the main store and by the cache that keeps
/// `persist = false` grants.
pub trait GrantStore: Send + Sync {
    /// Inserts a new grant and its `grant.created` event.
    fn insert_grant<'a>(&'a self, grant: &'a Grant, event: Event)
        -> BoxFuture<'a, StoreResult<()>>;

    fn get_grant(&self, id: GrantId) -> BoxFuture<'_, StoreResult<Option<Grant>>>;

    /// The compare-and-swap of rotation: if the grant is active and still at
    /// `expected`, set it to `expected + 1`, with `generation_started_at` and
    /// `last_used_at` = `now`. Exactly one of any number of concurrent callers with the
    /// same `expected` gets `true`.
    fn advance(
        &self,
        id: GrantId,
        expected: u64,
        now: Timestamp,
    ) -> BoxFuture<'_, StoreResult<bool>>;

    /// Records use of a `reuse` grant (sliding lifetime).
    fn touch(&self, id: GrantId, now: Timestamp) -> BoxFuture<'_, StoreResult<()>>;

    /// Revokes every active grant matching `filter`; answers the ids revoked. The
    /// revocation and its events commit together, or not at all.
    fn revoke<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>>;

    /// Grants matching a filter (all statuses), newest first, at most `limit`, starting
    /// after the grant `after` in that order.
    fn list_grants<'a>(
        &'a self,
        filter: Option<&'a GrantFilter>,
        after: Option<GrantId>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Grant>>>;
}

/// Everything else the server keeps.
pub trait Store: GrantStore {
    /// Checks the store answers (readiness).
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;

    /// Stops accepting writes once those under way are done (shutdown).
    fn close(&self) {}

    fn get_client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Client>>>;
    /// Adds a new client; `Conflict` if the id is taken (of two concurrent creates of
    /// one id, exactly one succeeds).
    fn insert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>>;
    fn upsert_client<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, StoreResult<()>>;
    fn list_clients(&self) -> BoxFuture<'_, StoreResult<Vec<Client>>>;
    fn delete_client<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    fn get_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    fn get_user_by_sub<'a>(&'a self, sub: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    /// Inserts or replaces the user with this `sub` (a rename keeps the `sub`).
    fn upsert_user<'a>(&'a self, user: &'a User) -> BoxFuture<'a, StoreResult<()>>;
    fn list_users(&self) -> BoxFuture<'_, StoreResult<Vec<User>>>;
    fn delete_user<'a>(&'a self, username: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    fn list_keys(&self) -> BoxFuture<'_, StoreResult<Vec<SigningKey>>>;
    fn insert_key<'a>(&'a self, key: &'a SigningKey) -> BoxFuture<'a, StoreResult<()>>;
    /// Sets the key's `retired_at` to `at`, unless it retires (or retired) earlier.
    fn retire_key<'a>(&'a self, kid: &'a str, at: Timestamp) -> BoxFuture<'a, StoreResult<()>>;

    fn insert_code<'a>(&'a self, code: &'a AuthCode) -> BoxFuture<'a, StoreResult<()>>;
    fn get_code<'a>(&'a self, digest: &'a [u8; 32])
        -> BoxFuture<'a, StoreResult<Option<AuthCode>>>;
    /// Marks the code used with `use_` and answers the code as it was before: a code
    /// whose `used` is already `Some` is a replay. Atomic: of two concurrent exchanges
    /// exactly one sees `used == None`.
    fn consume_code<'a>(
        &'a self,
        digest: &'a [u8; 32],
        use_: &'a CodeUse,
    ) -> BoxFuture<'a, StoreResult<Option<AuthCode>>>;

    fn insert_session<'a>(&'a self, s: &'a Session) -> BoxFuture<'a, StoreResult<()>>;
    fn get_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<Session>>>;
    fn touch_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Records a fresh sign-in on a live session (same user, `prompt=login` or
    /// `max_age`): its `auth_time` becomes `at`; its id and grants stay.
    fn reauthenticate_session<'a>(
        &'a self,
        id: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Ends a live session; answers it if it was live.
    fn end_session<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Option<Session>>>;

    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>>;
    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>>;

    fn insert_events(&self, events: Vec<Event>) -> BoxFuture<'_, StoreResult<()>>;
    fn list_events<'a>(&'a self, q: &'a EventQuery) -> BoxFuture<'a, StoreResult<Vec<Event>>>;

    /// The server-wide settings stored through the admin API (SPEC §2.9, §4): only the
    /// keys an operator set, laid over the configuration file's. `None` when never set.
    fn get_settings(&self) -> BoxFuture<'_, StoreResult<Option<Settings>>>;
    /// Replaces the stored server-wide settings.
    fn put_settings<'a>(
        &'a self,
        settings: &'a Settings,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Records that `client_id` was issued an authorization code in session `session_id`,
    /// so that back-channel logout reaches it when the session ends, even when it holds
    /// no grant (an ID token alone). Idempotent. The default records nothing (then only
    /// the clients holding a grant of the session are told).
    fn add_session_client<'a>(
        &'a self,
        _session_id: &'a str,
        _client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The clients recorded by [`Store::add_session_client`] for a session.
    fn list_session_clients<'a>(
        &'a self,
        _session_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Live sessions whose expiry has passed (the maintenance task ends them).
    /// The live (not ended, not expired) sessions of a user.
    fn list_live_sessions<'a>(
        &'a self,
        subject: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<Session>>>;

    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Session>>>;

    fn insert_reference_token<'a>(
        &'a self,
        t: &'a ReferenceToken,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn get_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<Option<ReferenceToken>>>;
    /// Marks a reference token revoked; answers whether it existed.
    fn revoke_reference_token<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Deletes what has outlived its use: expired authorization codes, revoked JWT ids
    /// and reference tokens past their expiry. At most `limit` rows of each; answers
    /// how many rows were deleted.
    fn purge_expired(&self, now: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// Cleanup (SPEC §2.8): deletes at most `limit` grants that stopped being live at or
    /// before `cutoff`: revoked then, or (never revoked) expired then, by absolute expiry
    /// or by sliding idle time (`last_used_at + sliding`). Records `grant.expired` (at
    /// `now`; client, subject, grant id) for each deleted grant that had expired, in the
    /// same transaction as the delete. Safe to run on several nodes at once: a row
    /// another node is deleting is skipped, never deleted (or reported) twice.
    fn purge_grants(
        &self,
        now: Timestamp,
        cutoff: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<PurgedGrants>>;

    /// Cleanup: deletes at most `limit` sessions that ended, or expired, at or before
    /// `cutoff`, with their `session_clients` rows. Answers how many sessions.
    fn purge_sessions(&self, cutoff: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// Deletes at most `limit` of the oldest events recorded before `before`
    /// (`cleanup.retain_events`); answers how many.
    fn purge_events(&self, before: Timestamp, limit: usize) -> BoxFuture<'_, StoreResult<u64>>;

    /// Marks a JWT id revoked (or, for client assertions, used) until it expires.
    /// Answers `true` if this call recorded it and `false` if it was already there:
    /// of two concurrent calls with the same id, exactly one gets `true`.
    fn revoke_jti<'a>(
        &'a self,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    fn is_jti_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, StoreResult<bool>>;

    /// How many grants are active at `now` (not revoked, not expired), for the
    /// `baton_active_grants` gauge. The default pages through `list_grants`; backends
    /// answer with one count query.
    fn count_active_grants(&self, now: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let mut n = 0u64;
            let mut after = None;
            loop {
                let page = self.list_grants(None, after, 1000).await?;
                n += page
                    .iter()
                    .filter(|g| g.is_active() && g.expiry().is_none_or(|e| e > now))
                    .count() as u64;
                match page.last() {
                    Some(g) if page.len() == 1000 => after = Some(g.id),
                    _ => return Ok(n),
                }
            }
        })
    }

    /// Withdraws consent: one user's for a client (`Some(subject)`: the user revoked
    /// the application on the account page), or every user's for it (`None`: the client
    /// is being deleted, and a new client with the same id must ask again). Answers how
    /// many users' consents were removed; none is not an error.
    fn delete_consents<'a>(
        &'a self,
        client_id: &'a str,
        subject: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<u64>>;

    /// [`GrantStore::revoke`] that also records, in the same transaction, the
    /// revocation markers of `filter` ([`marker_scopes`]) at `why.now` with
    /// `why.reason`: the cache's grants the filter covers that were created before then
    /// count as revoked from the moment this commits, even those the cache cannot
    /// find or reach now. The default writes no marker (a store without them).
    fn revoke_marking<'a>(
        &'a self,
        filter: &'a GrantFilter,
        why: &'a Revocation,
    ) -> BoxFuture<'a, StoreResult<Vec<GrantId>>> {
        self.revoke(filter, why)
    }

    /// Cleanup: deletes at most `limit` revocation markers made before `before` (no
    /// cached grant they cover can still be presented then); answers how many. The
    /// default has none to delete.
    fn purge_revocation_markers(
        &self,
        _before: Timestamp,
        _limit: usize,
    ) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(std::future::ready(Ok(0)))
    }

    /// The latest revocation marker among `scopes` (see [`grant_marker_scopes`]):
    /// its time and reason. The default knows none.
    fn revocation_marker<'a>(
        &'a self,
        _scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<Option<RevocationMarker>>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// A bulk revocation as the cache's grants see it: grants of its scope created
/// before `at` are revoked, for `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationMarker {
    pub at: Timestamp,
    pub reason: String,
}

/// The marker scopes a bulk revocation writes (none for a single grant, which is
/// revoked where it lives). Each names the grants it covers: `c:` a client's,
/// `u:` a subject's, `cs:` a client's for one subject, `s:` a session's, `so:` a
/// session's `online_access` ones, `sc:` a session's for one client; values hex.
pub fn marker_scopes(filter: &GrantFilter) -> Vec<String> {
    use crate::secret::hex;
    let h = |s: &str| hex(s.as_bytes());
    match filter {
        GrantFilter::Grant(_) => vec![],
        GrantFilter::Client(c) => vec![format!("c:{}", h(c))],
        GrantFilter::Subject(s) => vec![format!("u:{}", h(s))],
        GrantFilter::ClientSubject { client_id, subject } => {
            vec![format!("cs:{}:{}", h(client_id), h(subject))]
        }
        GrantFilter::Session(s) => vec![format!("s:{}", h(s))],
        GrantFilter::SessionOnline(s) => vec![format!("so:{}", h(s))],
        GrantFilter::SessionClients {
            session_id,
            client_ids,
        } => client_ids
            .iter()
            .map(|c| format!("sc:{}:{}", h(session_id), h(c)))
            .collect(),
    }
}

/// Every marker scope that covers `g`: a marker of any of them at a time after the
/// grant's creation revokes it.
pub fn grant_marker_scopes(g: &Grant) -> Vec<String> {
    use crate::secret::hex;
    let (c, u) = (hex(g.client_id.as_bytes()), hex(g.subject.as_bytes()));
    let mut v = vec![format!("c:{c}"), format!("u:{u}"), format!("cs:{c}:{u}")];
    if let Some(s) = &g.session_id {
        let s = hex(s.as_bytes());
        v.push(format!("s:{s}"));
        if g.online {
            v.push(format!("so:{s}"));
        }
        v.push(format!("sc:{s}:{c}"));
    }
    v
}

/// What one [`Store::purge_grants`] call deleted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PurgedGrants {
    /// The `grant.expired` events written, one per grant deleted because it expired.
    pub expired: Vec<Event>,
    /// How many grants were deleted because they had been revoked.
    pub revoked: u64,
}

impl PurgedGrants {
    pub fn total(&self) -> u64 {
        self.expired.len() as u64 + self.revoked
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub since: Option<Timestamp>,
    /// Events older than this id (newest-first paging).
    pub before_id: Option<String>,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::{grant_marker_scopes, marker_scopes, GrantFilter};
    use crate::model::{Grant, GrantId, GrantStatus};
    use crate::time::{Dur, Timestamp};

    fn grant(client: &str, subject: &str, session: Option<&str>, online: bool) -> Grant {
        Grant {
            id: GrantId([1; 16]),
            client_id: client.into(),
            subject: subject.into(),
            scope: "openid".into(),
            session_id: session.map(str::to_string),
            online,
            auth_time: Timestamp(0),
            created_at: Timestamp(0),
            expires_at: None,
            sliding: None,
            last_used_at: Timestamp(0),
            generation: 1,
            generation_started_at: Timestamp(0),
            rotate: true,
            grace: Dur(0),
            update_claims: true,
            claims_snapshot: None,
            cached: true,
            status: GrantStatus::Active,
        }
    }

    fn covers(f: &GrantFilter, g: &Grant) -> bool {
        let mine = grant_marker_scopes(g);
        marker_scopes(f).iter().any(|s| mine.contains(s))
    }

    /// A bulk filter's markers reach exactly the grants it matches.
    #[test]
    fn marker_scopes_cover_what_the_filter_matches() {
        let offline = grant("c1", "alice", Some("s1"), false);
        let online = grant("c1", "alice", Some("s1"), true);
        let no_session = grant("c1", "alice", None, false);
        let other = grant("c2:x", "bob", Some("s2"), true);
        let cs = |c: &str, s: &str| GrantFilter::ClientSubject {
            client_id: c.into(),
            subject: s.into(),
        };
        let sc = |s: &str, c: &[&str]| GrantFilter::SessionClients {
            session_id: s.into(),
            client_ids: c.iter().map(|c| c.to_string()).collect(),
        };
        let cases: Vec<(GrantFilter, [bool; 4])> = vec![
            (GrantFilter::Client("c1".into()), [true, true, true, false]),
            (
                GrantFilter::Subject("alice".into()),
                [true, true, true, false],
            ),
            (cs("c1", "alice"), [true, true, true, false]),
            (cs("c1", "bob"), [false, false, false, false]),
            (
                GrantFilter::Session("s1".into()),
                [true, true, false, false],
            ),
            (
                GrantFilter::SessionOnline("s1".into()),
                [false, true, false, false],
            ),
            (
                GrantFilter::SessionOnline("s2".into()),
                [false, false, false, true],
            ),
            (sc("s1", &["c1"]), [true, true, false, false]),
            (sc("s1", &["c2:x"]), [false, false, false, false]),
            (sc("s2", &["c2:x"]), [false, false, false, true]),
            (GrantFilter::Grant(GrantId([1; 16])), [false; 4]),
        ];
        for (f, want) in cases {
            let got = [&offline, &online, &no_session, &other].map(|g| covers(&f, g));
            assert_eq!(got, want, "{f:?}");
        }
        // Hex keeps ':' in ids from making two scopes collide.
        assert!(!covers(&cs("c2", "x:bob"), &other));
    }
}
