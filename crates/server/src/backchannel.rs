//! OIDC Back-Channel Logout 1.0: when a browser session ends (logout, expiry, admin
//! action, `reuse_reaction = "revoke_session"`), each client that held a grant in it and
//! registered a `backchannel_logout_uri` is sent a signed logout token.
//!
//! The session's end puts one delivery per such client in the outbox (the main store,
//! see [`crate::outbox`]) before the end is answered; the outbox worker of any node
//! makes it, off the request path. Each try is bounded by
//! [`crate::outbound::ATTEMPT_TIMEOUT`]; a 5xx, 408 or 429 answer, or no connection,
//! is tried again with exponential back-off (`[outbox]`), across restarts and nodes.
//! The logout token is signed at each try (so that a try after a long outage still
//! carries a valid one) and is never stored. Each delivery ends in exactly one
//! `backchannel_logout.sent` or `backchannel_logout.failed` event, committed with the
//! delivery's end, naming the client,
//! the subject, the session, the URI's host, the tries and the status or error, never
//! the token.
//!
//! HTTP/1.1 over plain TCP for `http://` URIs (loopback only, as configuration allows)
//! and over TLS for `https://` URIs, through [`crate::outbound::post`]: an address that
//! is not public (loopback, private, link-local, metadata …) is refused unless
//! `http.allow_private_outbound` is on, and the refusal is recorded as
//! `backchannel_logout.failed` at once, without retries. Redirects are never followed:
//! a 3xx answer is a failed delivery.

use crate::outbound::{host_of, retryable, ConnectError};
use crate::outbox::Attempt;
use crate::sessions::LogoutNotifier;
use crate::state::AppState;
use baton_core::events::EventKind;
use baton_core::model::{Client, Event, Session};
use baton_core::store::{BoxFuture, NewOutboxItem, OutboxItem, BACKCHANNEL_LOGOUT};
use baton_core::time::{Dur, Timestamp};
use serde_json::{json, Value};
use std::sync::Weak;

/// How long a logout token is valid (`exp - iat`).
pub const LOGOUT_TOKEN_LIFETIME: Dur = Dur::secs(120);
/// The member of `events` that makes a JWT a logout token.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The notifier installed in [`AppState`]: holds the state weakly (the state owns it).
pub struct Backchannel {
    state: Weak<AppState>,
}

impl Backchannel {
    pub fn new(state: Weak<AppState>) -> Backchannel {
        Backchannel { state }
    }
}

impl LogoutNotifier for Backchannel {
    fn session_ended<'a>(
        &'a self,
        session: &'a Session,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if client_ids.is_empty() {
                return;
            }
            let Some(st) = self.state.upgrade() else {
                return;
            };
            enqueue(&st, session, client_ids).await;
        })
    }
}

/// Puts one delivery per client with a `backchannel_logout_uri` in the outbox, and
/// wakes this node's worker. A client that cannot be read now is queued anyway (its
/// try reads it again), and a store that refuses the write is asked again, for about
/// 6 s, before the failure is logged: the session has ended already, and its
/// deliveries must not be dropped on a passing store error.
async fn enqueue(st: &AppState, session: &Session, client_ids: &[String]) {
    let now = st.clock.now();
    let mut items = Vec::new();
    for id in client_ids {
        let due = match st.store.get_client(id).await {
            Ok(Some(c)) => c.backchannel_logout_uri.is_some(),
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(client_id = %id, session_id = %session.id, error = %e, "back-channel logout: cannot read the client now; queued, its try reads it again");
                true
            }
        };
        if due {
            items.push(NewOutboxItem {
                kind: BACKCHANNEL_LOGOUT.into(),
                target: id.clone(),
                payload: json!({"session_id": session.id, "subject": session.subject}),
                due_at: now,
            });
        }
    }
    if items.is_empty() {
        return;
    }
    let mut wait = std::time::Duration::from_millis(100);
    for tries_left in (0..7).rev() {
        match st.store.enqueue_outbox(items.clone(), now).await {
            Ok(()) => {
                st.outbox.wake();
                return;
            }
            Err(e) if tries_left == 0 => {
                tracing::error!(session_id = %session.id, error = %e, "back-channel logout: cannot queue the deliveries; not sent")
            }
            Err(e) => {
                tracing::warn!(session_id = %session.id, error = %e, "back-channel logout: cannot queue the deliveries yet; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

/// The logout token for `client` (OIDC Back-Channel Logout 1.0 §2.4): signed with the
/// client's ID-token algorithm, `typ` `logout+jwt`, no `nonce`.
pub async fn logout_token(
    st: &AppState,
    client: &Client,
    session_id: &str,
    subject: &str,
    now: Timestamp,
) -> Result<String, String> {
    let claims = json!({
        "iss": st.cfg.issuer,
        "aud": client.client_id,
        "iat": now.unix_secs(),
        "exp": now.plus(LOGOUT_TOKEN_LIFETIME).unix_secs(),
        "jti": baton_core::random_id(""),
        "sub": subject,
        "sid": session_id,
        "events": { LOGOUT_EVENT: {} },
    });
    crate::tokens::sign(st, client.id_token_alg, "logout+jwt", &claims).await
}

fn payload_str<'a>(item: &'a OutboxItem, key: &str) -> &'a str {
    item.payload.get(key).and_then(Value::as_str).unwrap_or("")
}

/// One try of a delivery the outbox worker claimed: the client as it is now (its
/// current URI), a fresh logout token, one POST.
pub async fn attempt(st: &AppState, item: &OutboxItem) -> Attempt {
    let client = match st.store.get_client(&item.target).await {
        Ok(Some(c)) => c,
        Ok(None) => return Attempt::Fail(json!({"error": "the client no longer exists"})),
        Err(e) => return Attempt::Retry(json!({"error": format!("cannot read the client: {e}")})),
    };
    let Some(uri) = client.backchannel_logout_uri.clone() else {
        return Attempt::Fail(
            json!({"error": "the client no longer has a backchannel_logout_uri"}),
        );
    };
    let host = host_of(&uri);
    let (sid, sub) = (
        payload_str(item, "session_id"),
        payload_str(item, "subject"),
    );
    let token = match logout_token(st, &client, sid, sub, st.clock.now()).await {
        Ok(t) => t,
        Err(e) => {
            return Attempt::Fail(
                json!({"host": host, "error": format!("cannot sign the logout token: {e}")}),
            )
        }
    };
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    let allow_private = st.cfg.http.allow_private_outbound;
    match crate::outbound::post(
        &uri,
        "application/x-www-form-urlencoded",
        &[],
        body,
        allow_private,
    )
    .await
    {
        Ok(status) if (200..300).contains(&status) => {
            Attempt::Delivered(json!({"host": host, "status": status}))
        }
        Ok(status) if retryable(status) => Attempt::Retry(json!({"host": host, "status": status})),
        Ok(status) => Attempt::Fail(json!({"host": host, "status": status})),
        Err(ConnectError::Refused(e)) => Attempt::Fail(json!({"host": host, "error": e})),
        Err(ConnectError::Failed(e)) => Attempt::Retry(json!({"host": host, "error": e})),
    }
}

/// A delivery is done: its `backchannel_logout.sent` or `backchannel_logout.failed`
/// event, with the last try's details, the number of tries and the session (the
/// worker records it in the transaction that marks the delivery done).
pub fn outcome_event(item: &OutboxItem, last: &Attempt, now: Timestamp) -> Event {
    let (kind, details) = match last {
        Attempt::Delivered(d) => (EventKind::BackchannelLogoutSent, d),
        Attempt::Retry(d) | Attempt::Fail(d) => (EventKind::BackchannelLogoutFailed, d),
    };
    let mut details = details.clone();
    if let Value::Object(d) = &mut details {
        d.insert("attempts".into(), item.attempts.into());
        d.insert("session_id".into(), payload_str(item, "session_id").into());
    }
    Event {
        id: baton_core::event_id(now),
        kind: kind.as_str().into(),
        time: now,
        client_id: Some(item.target.clone()),
        subject: Some(payload_str(item, "subject").to_string()),
        grant_id: None,
        ip: None,
        user_agent: None,
        details,
    }
}
