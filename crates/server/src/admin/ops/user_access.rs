//! What one user can reach, for the console's user page: their live browser sessions
//! and their consents, ending one session, withdrawing a consent; and one grant's
//! timeline. (A user's grants are [`super::list_grants`] by subject; revoking one or
//! all of them is [`super::revoke`].)

use super::{changed, record, revoke_matching};
use super::{AdminError, AdminResult};
use crate::admin::views::{grant_view, user_view};
use crate::caller::Caller;
use crate::state::AppState;
use crate::timeline::Entry;
use baton_core::events::EventKind;
use baton_core::model::{Grant, GrantId, Session};
use baton_core::store::{Consent, EventQuery, GrantFilter};
use baton_proto::admin::{GrantView, UserView};

/// At most this many of a grant's events make its timeline (newest kept).
pub const TIMELINE_EVENTS: usize = 500;

/// A user by their `sub` (grants and events name users by it).
pub async fn user_by_sub(st: &AppState, sub: &str) -> AdminResult<Option<UserView>> {
    Ok(st.store.get_user_by_sub(sub).await?.map(|u| user_view(&u)))
}

/// The user's live (not ended, not expired) browser sessions.
pub async fn user_sessions(st: &AppState, sub: &str) -> AdminResult<Vec<Session>> {
    Ok(st.store.list_live_sessions(sub, st.clock.now()).await?)
}

/// What the user consented to, per client.
pub async fn user_consents(st: &AppState, sub: &str) -> AdminResult<Vec<(String, Consent)>> {
    Ok(st.store.list_consents(sub).await?)
}

/// Ends one of the user's live sessions (reason `admin`): its bound grants die, its
/// applications get back-channel logout, `session.ended` is recorded (with the
/// caller's actor, if any). A session that is not the user's, or no longer live, is
/// not found.
pub async fn end_session(
    st: &AppState,
    sub: &str,
    session_id: &str,
    caller: &Caller,
) -> AdminResult<()> {
    let now = st.clock.now();
    let live = st
        .store
        .get_session(session_id)
        .await?
        .is_some_and(|s| s.subject == sub && s.is_live(now));
    let gone = || AdminError::NotFound("no such live session of this user".into());
    if !live {
        return Err(gone());
    }
    let actor = caller.actor.as_ref().map(|a| a.to_json());
    if crate::sessions::end_by(st, session_id, "admin", now, actor).await? {
        Ok(())
    } else {
        // Ended by someone else meanwhile.
        Err(gone())
    }
}

/// Revokes one of the user's grants (reason `admin`), like [`super::revoke`] with its
/// `grant_id`; a grant of another user is not found, so a form of one user's page
/// cannot reach another's. Answers whether it was still active.
pub async fn revoke_user_grant(
    st: &AppState,
    sub: &str,
    id: GrantId,
    caller: &Caller,
) -> AdminResult<bool> {
    let mut theirs = false;
    for persist in [true, false] {
        if let Some(g) = st.grants(persist).get_grant(id).await? {
            theirs = g.subject == sub;
            break;
        }
    }
    if !theirs {
        return Err(AdminError::NotFound(format!(
            "the user has no grant `{}`",
            id.to_hex()
        )));
    }
    Ok(revoke_matching(st, &GrantFilter::Grant(id), caller).await? > 0)
}

/// Withdraws the user's consent to a client, and revokes the user's grants of that
/// client (reason `admin`): the application must ask again. Records
/// `consent.revoked` with what was withdrawn and how many grants were revoked.
pub async fn revoke_consent(
    st: &AppState,
    sub: &str,
    client_id: &str,
    caller: &Caller,
) -> AdminResult<u64> {
    let had = st.store.get_consent(sub, client_id).await?;
    if had == Consent::default() {
        return Err(AdminError::NotFound(format!(
            "the user has no consent for client `{client_id}`"
        )));
    }
    // Consent first: a failure after it leaves grants that can be revoked again, never
    // a consent that outlives its revocation.
    st.store.delete_consents(client_id, Some(sub)).await?;
    let filter = GrantFilter::ClientSubject {
        client_id: client_id.into(),
        subject: sub.into(),
    };
    let revoked = revoke_matching(st, &filter, caller).await?;
    let ev = changed(
        EventKind::ConsentRevoked,
        st,
        caller,
        Some(client_id),
        Some(sub),
        serde_json::json!({"scopes": had.scopes, "resources": had.resources, "revoked": revoked}),
    );
    record(st, ev).await?;
    Ok(revoked)
}

/// A grant's history, for its console page.
#[derive(Clone, Debug)]
pub struct GrantTimeline {
    pub grant_id: GrantId,
    /// The grant as it is now; `None` once the cleanup job removed it.
    pub grant: Option<GrantView>,
    /// The client and subject: the grant's, else its events'.
    pub client_id: Option<String>,
    pub subject: Option<String>,
    /// Its user, if they still exist.
    pub user: Option<UserView>,
    /// Oldest first.
    pub entries: Vec<Entry>,
    /// The grant has more than [`TIMELINE_EVENTS`] events: the oldest are left out.
    pub truncated: bool,
}

/// The timeline of a grant (main store or cache); not found when neither the grant nor
/// any event of it exists.
pub async fn grant_timeline(st: &AppState, id: GrantId) -> AdminResult<GrantTimeline> {
    let mut grant: Option<Grant> = None;
    for persist in [true, false] {
        if let Some(g) = st.grants(persist).get_grant(id).await? {
            grant = Some(g);
            break;
        }
    }
    let events = st
        .store
        .list_events(&EventQuery {
            grant_id: Some(id),
            limit: TIMELINE_EVENTS + 1,
            ..Default::default()
        })
        .await?;
    if grant.is_none() && events.is_empty() {
        return Err(AdminError::NotFound(format!("no grant `{}`", id.to_hex())));
    }
    let truncated = events.len() > TIMELINE_EVENTS;
    let events = &events[..events.len().min(TIMELINE_EVENTS)];
    let now = st.clock.now();
    let entries = crate::timeline::build(grant.as_ref(), events, now);
    let client_id = grant
        .as_ref()
        .map(|g| g.client_id.clone())
        // A client mismatch names the client that presented the token, not the grant's.
        .or_else(|| {
            events
                .iter()
                .filter(|e| e.kind != EventKind::TokenClientMismatch.as_str())
                .find_map(|e| e.client_id.clone())
        });
    let subject = grant
        .as_ref()
        .map(|g| g.subject.clone())
        .or_else(|| events.iter().find_map(|e| e.subject.clone()));
    let user = match &subject {
        Some(s) => user_by_sub(st, s).await?,
        None => None,
    };
    Ok(GrantTimeline {
        grant_id: id,
        grant: grant.as_ref().map(|g| grant_view(g, now)),
        client_id,
        subject,
        user,
        entries,
        truncated,
    })
}
