//! The storage traits the domain needs. Backends (SQLite, PostgreSQL, the Redis or
//! in-process cache) live in `baton-store`; the domain sees only these.
//!
//! One trait per role, one file each: [`GrantStore`] (also what the grant cache
//! implements), [`ClientStore`], [`UserStore`], [`SessionStore`], [`CodeStore`],
//! [`ConsentStore`], [`EventStore`], [`KeyStore`], [`ReferenceTokenStore`], [`ResourceStore`], [`RecordsStore`] (a refresh's reads at once) and
//! [`MaintenanceStore`] (readiness, settings, cleanup, revocation markers) and
//! [`OutboxStore`] (deliveries to other servers, kept until done). [`Store`]
//! is all of them together, implemented for every type that implements each role.
//!
//! Futures are boxed so that the server can hold `Arc<dyn Store>` and choose the
//! backend from configuration at start-up. Methods called on a `dyn Store` need no
//! import; on a concrete backend, bring the roles in with `use baton_core::store::prelude::*`.

mod clients;
mod codes;
mod consents;
mod events;
mod grants;
mod keys;
mod maintenance;
mod outbox;
mod records;
mod reference_tokens;
mod resources;
mod sessions;
mod users;

pub use clients::ClientStore;
pub use codes::CodeStore;
pub use consents::{Consent, ConsentStore};
pub use events::EventStore;
pub use grants::GrantStore;
pub use keys::KeyStore;
pub use maintenance::{BootstrapLock, MaintenanceStore};
pub use outbox::{
    NewOutboxItem, OutboxFinish, OutboxItem, OutboxStore, WebhookSubscription, BACKCHANNEL_LOGOUT,
    WEBHOOK,
};
pub use records::{RecordsStore, RequestRecords};
pub use reference_tokens::ReferenceTokenStore;
pub use resources::ResourceStore;
pub use sessions::SessionStore;
pub use users::UserStore;

use crate::error::StoreError;
use crate::model::{Event, Grant, GrantId};
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
    /// Who asked, when a person signed in did (the console's administrator): each
    /// `grant.revoked` event records it as `details.actor`.
    pub actor: Option<serde_json::Value>,
}

impl Revocation {
    /// The details of each `grant.revoked` event: the reason, and the actor if any.
    pub fn details(&self) -> serde_json::Value {
        let mut d = serde_json::json!({ "reason": self.reason });
        if let (Some(a), Some(o)) = (&self.actor, d.as_object_mut()) {
            o.insert("actor".into(), a.clone());
        }
        d
    }
}

/// Everything the server keeps: every role at once. Implemented for every type that
/// implements each role, so a backend implements the roles and `Arc<dyn Store>` holds it.
pub trait Store:
    GrantStore
    + ClientStore
    + UserStore
    + SessionStore
    + CodeStore
    + ConsentStore
    + EventStore
    + KeyStore
    + ReferenceTokenStore
    + ResourceStore
    + RecordsStore
    + MaintenanceStore
    + OutboxStore
{
}

impl<T> Store for T where
    T: GrantStore
        + ClientStore
        + UserStore
        + SessionStore
        + CodeStore
        + ConsentStore
        + EventStore
        + KeyStore
        + ReferenceTokenStore
        + ResourceStore
        + RecordsStore
        + MaintenanceStore
        + OutboxStore
        + ?Sized
{
}

/// The role traits, for calling store methods on a concrete backend (a `dyn Store`
/// needs no import): `use baton_core::store::prelude::*;`.
pub mod prelude {
    pub use super::{
        ClientStore, CodeStore, ConsentStore, EventStore, GrantStore, KeyStore, MaintenanceStore,
        OutboxStore, RecordsStore, ReferenceTokenStore, ResourceStore, SessionStore, Store,
        UserStore,
    };
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

/// What one [`MaintenanceStore::purge_grants`] call deleted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PurgedGrants {
    /// The `grant.expired` events written, one per grant deleted because it expired.
    pub expired: Vec<Event>,
    /// How many grants were deleted because they had been revoked.
    pub revoked: u64,
    /// How many grants due for an idle check had been used since: their next check was
    /// moved to their real idle deadline, nothing else changed.
    pub rechecked: u64,
}

impl PurgedGrants {
    /// How many grants were deleted.
    pub fn total(&self) -> u64 {
        self.expired.len() as u64 + self.revoked
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    /// The events of this grant only.
    pub grant_id: Option<GrantId>,
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only events before this time.
    pub until: Option<Timestamp>,
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
            resources: Default::default(),
            id: GrantId([1; 16]),
            client_id: client.into(),
            subject: subject.into(),
            scope: crate::scope::Scope::parse("openid").unwrap(),
            session_id: session.map(str::to_string),
            online,
            auth_time: Timestamp(0),
            created_at: Timestamp(0),
            expires_at: None,
            sliding: None,
            last_used_at: Timestamp(0),
            generation: 1,
            generation_started_at: Timestamp(0),
            dpop_jkt: None,
            rotate: true,
            grace: Dur(0),
            update_claims: true,
            claims_snapshot: None,
            persist: false,
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
