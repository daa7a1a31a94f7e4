//! Browser sessions and their end (SPEC §2.6): ending a session revokes the grants
//! bound to it (`online_access`) and, for clients with `revoke_on_logout`, the other
//! grants created in it; `session.ended` is recorded; clients are told through the
//! `LogoutNotifier` (back-channel logout).

use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::model::{Event, Session};
use baton_core::store::{GrantFilter, Revocation};
use baton_core::time::Timestamp;
use std::collections::BTreeSet;

/// Told when a session ends, with the clients that held grants in it. Back-channel
/// logout (OIDC Back-Channel Logout 1.0) plugs in here.
pub trait LogoutNotifier: Send + Sync {
    fn session_ended(&self, session: &Session, client_ids: &[String]);
}

/// Notifies nobody: used until back-channel logout is configured.
pub struct NoNotifier;

impl LogoutNotifier for NoNotifier {
    fn session_ended(&self, _: &Session, _: &[String]) {}
}

pub const COOKIE: &str = "baton_session";

/// Ends a session for `reason` ("logout", "expired", "admin", "reuse_detected").
/// Answers whether a live session was ended.
pub async fn end(
    st: &AppState,
    session_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let Some(session) = st.store.end_session(session_id, now).await? else {
        return Ok(false);
    };
    let why = |r: &str| Revocation {
        reason: r.to_string(),
        now,
        ip: None,
        user_agent: None,
        extra_events: vec![],
    };
    // Every client that was authorized in this session or held a grant of it.
    let mut clients: BTreeSet<String> = st
        .store
        .list_session_clients(session_id)
        .await?
        .into_iter()
        .collect();
    for cached in [false, true] {
        for g in st
            .grants(cached)
            .list_grants(Some(&GrantFilter::Session(session_id.into())), None, 10_000)
            .await?
        {
            clients.insert(g.client_id);
        }
    }
    let mut revoke_clients = Vec::new();
    for c in &clients {
        if let Some(client) = st.store.get_client(c).await? {
            if st.refresh_settings(&client).revoke_on_logout {
                revoke_clients.push(c.clone());
            }
        }
    }
    let filters = [
        GrantFilter::SessionOnline(session_id.into()),
        GrantFilter::SessionClients {
            session_id: session_id.into(),
            client_ids: revoke_clients,
        },
    ];
    for f in &filters {
        crate::grants::revoke_everywhere(st, f, &why(&format!("session_ended:{reason}"))).await?;
    }
    st.store
        .insert_events(vec![Event {
            id: baton_core::event_id(now),
            kind: "session.ended".into(),
            time: now,
            client_id: None,
            subject: Some(session.subject.clone()),
            grant_id: None,
            ip: None,
            user_agent: None,
            details: serde_json::json!({"session_id": session.id, "reason": reason}),
        }])
        .await?;
    let clients: Vec<String> = clients.into_iter().collect();
    st.logout.session_ended(&session, &clients);
    Ok(true)
}
