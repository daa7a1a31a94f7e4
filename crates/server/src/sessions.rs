//! Browser sessions and their end (SPEC §2.6): ending a session revokes the grants
//! bound to it (`online_access`) and, for clients with `revoke_on_logout`, the other
//! grants created in it; `session.ended` is recorded; clients are told through the
//! `LogoutNotifier` (back-channel logout).

use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{Event, Session};
use baton_core::store::{BoxFuture, GrantFilter, Revocation};
use baton_core::time::Timestamp;
use std::collections::BTreeSet;

/// Told when a session ends, with the clients that held grants in it. Back-channel
/// logout (OIDC Back-Channel Logout 1.0) plugs in here: it queues its deliveries
/// (durably) before the end is answered, and makes them later.
pub trait LogoutNotifier: Send + Sync {
    fn session_ended<'a>(
        &'a self,
        session: &'a Session,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, ()>;
}

/// Notifies nobody: used until back-channel logout is configured.
pub struct NoNotifier;

impl LogoutNotifier for NoNotifier {
    fn session_ended<'a>(&'a self, _: &'a Session, _: &'a [String]) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

pub const COOKIE: &str = "baton_session";

/// A new session cookie value: 256 random bits. Only its hash is ever stored or shown.
pub fn new_cookie_secret() -> String {
    baton_core::secret::hex(&baton_core::random_bytes::<32>())
}

/// The public session id (`sid`) of a cookie: a hash of it. The `sid` travels in ID
/// tokens, logout tokens, events and logs; the cookie that proves the session never
/// does, and cannot be rebuilt from the `sid`.
pub fn sid_for_cookie(cookie: &str) -> String {
    let d = baton_core::secret::sha256(format!("baton-session:{cookie}").as_bytes());
    baton_core::secret::hex(&d[..16])
}

/// Ends a session for `reason` ("logout", "expired", "admin", "reuse_detected",
/// "replaced_by_login"). Answers whether a live session was ended.
///
/// Grants are revoked before the session is marked ended, so that if anything fails
/// the session is still live and ending it again does the rest. `online_access`
/// grants always die with the session; the session's other grants die for clients with
/// `revoke_on_logout`, except when the session merely expired: an idle browser session
/// is not a sign-out, and `offline_access` is exactly the promise to keep access while
/// the user is away.
///
/// Only the main store is needed: its revocation carries the markers that revoke the
/// cache's grants (see `grants::revoke_everywhere`), so a Redis outage neither blocks
/// the end nor leaves a cached grant of the session alive. Once the session is marked
/// ended, its grants are swept again: a code exchange that raced the end (its grant
/// created after the first sweep) cannot leave a live grant.
pub async fn end(
    st: &AppState,
    session_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    end_by(st, session_id, reason, now, None).await
}

/// [`end`], by a person (the console's administrator): `actor` goes into the details
/// of `session.ended` and of the `grant.revoked` events it causes.
pub async fn end_by(
    st: &AppState,
    session_id: &str,
    reason: &str,
    now: Timestamp,
    actor: Option<serde_json::Value>,
) -> Result<bool, StoreError> {
    let Some(session) = st.store.get_session(session_id).await? else {
        return Ok(false);
    };
    if session.ended_at.is_some() {
        return Ok(false);
    }
    let why = Revocation {
        reason: format!("session_ended:{reason}"),
        now,
        ip: None,
        user_agent: None,
        extra_events: vec![],
        actor: actor.clone(),
    };
    let clients = revoke_session_grants(st, session_id, reason, &why).await?;
    // Whoever marks it ended reports it: of two concurrent ends, one notifies.
    let Some(session) = st.store.end_session(session_id, now).await? else {
        return Ok(false);
    };
    // The session is ended and its first sweep done: from here on a failure is logged,
    // never answered (the end has happened; a 503 would say it had not).
    let again = Revocation {
        now: st.clock.now().max(now),
        ..why
    };
    let clients = match revoke_session_grants(st, session_id, reason, &again).await {
        Ok(more) => clients.union(&more).cloned().collect(),
        Err(e) => {
            tracing::warn!(error = %e, session_id, "sweeping an ended session's grants again failed");
            clients
        }
    };
    let mut details = serde_json::json!({"session_id": session.id, "reason": reason});
    if let (Some(a), Some(d)) = (actor, details.as_object_mut()) {
        d.insert("actor".into(), a);
    }
    let ev = Event {
        id: baton_core::event_id(now),
        kind: EventKind::SessionEnded.as_str().into(),
        time: now,
        client_id: None,
        subject: Some(session.subject.clone()),
        grant_id: None,
        ip: None,
        user_agent: None,
        details,
    };
    crate::best_effort::record_event(st, ev).await;
    let clients: Vec<String> = clients.into_iter().collect();
    st.logout.session_ended(&session, &clients).await;
    Ok(true)
}

/// Revokes the grants a session's end revokes (see [`end`]); answers every client
/// that was authorized in the session or held a grant of it.
async fn revoke_session_grants(
    st: &AppState,
    session_id: &str,
    reason: &str,
    why: &Revocation,
) -> Result<BTreeSet<String>, StoreError> {
    let mut clients: BTreeSet<String> = st
        .store
        .list_session_clients(session_id)
        .await?
        .into_iter()
        .collect();
    let f = GrantFilter::Session(session_id.into());
    for g in st.grants(true).list_grants(Some(&f), None, 10_000).await? {
        clients.insert(g.client_id);
    }
    // The cache only adds clients the list above may lack (grants from before that
    // list was kept); without it, the clients authorized here are still known.
    match st.grants(false).list_grants(Some(&f), None, 10_000).await {
        Ok(gs) => clients.extend(gs.into_iter().map(|g| g.client_id)),
        Err(e) => {
            tracing::warn!(error = %e, session_id, "listing a session's cached grants failed")
        }
    }
    crate::grants::revoke_everywhere(st, &GrantFilter::SessionOnline(session_id.into()), why)
        .await?;
    if reason != "expired" {
        let mut revoke_clients = Vec::new();
        for c in &clients {
            if let Some(client) = st.store.get_client(c).await? {
                if st.refresh_settings(&client).revoke_on_logout {
                    revoke_clients.push(c.clone());
                }
            }
        }
        let f = GrantFilter::SessionClients {
            session_id: session_id.into(),
            client_ids: revoke_clients,
        };
        crate::grants::revoke_everywhere(st, &f, why).await?;
    }
    Ok(clients)
}
