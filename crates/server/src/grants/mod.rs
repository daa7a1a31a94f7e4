//! One file per grant type; shared here: grant creation (SPEC §2.2) and revocation
//! across the main store and the cache.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;

use crate::http::Meta;
use crate::state::AppState;
use crate::tokens;
use baton_core::error::{OAuthError, StoreError};
use baton_core::model::{Client, Event, Grant, GrantId, GrantStatus, GrantType, User};
use baton_core::policy::RefreshSettings;
use baton_core::scope;
use baton_core::store::{GrantFilter, Revocation};
use baton_core::time::Timestamp;
use baton_proto::oauth::TokenResponse;

/// SPEC §2.2: whether a refresh token is due for this request.
pub fn refresh_due(
    client: &Client,
    settings: &RefreshSettings,
    granted_scope: &str,
    grant_type: GrantType,
) -> bool {
    client.allows(GrantType::RefreshToken)
        && matches!(
            grant_type,
            GrantType::AuthorizationCode | GrantType::Password | GrantType::RefreshToken
        )
        && (!settings.require_offline_access
            || scope::contains(granted_scope, "offline_access")
            || scope::contains(granted_scope, "online_access"))
        && (!client.is_public() || settings.allow_public_clients)
}

/// What a new grant is created from.
pub struct NewGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub scope: &'a str,
    pub session_id: Option<&'a str>,
    pub auth_time: Timestamp,
    pub id: GrantId,
}

/// Builds a grant whose effective settings are fixed now (SPEC §2.9).
pub fn build(st: &AppState, n: &NewGrant<'_>, now: Timestamp) -> Grant {
    let s = st.refresh_settings(n.client);
    let online = scope::contains(n.scope, "online_access") && n.session_id.is_some();
    Grant {
        id: n.id,
        client_id: n.client.client_id.clone(),
        subject: n.user.sub.clone(),
        scope: n.scope.to_string(),
        session_id: n.session_id.map(str::to_string),
        online,
        auth_time: n.auth_time,
        created_at: now,
        expires_at: s.absolute_lifetime.map(|d| now.plus(d)),
        sliding: s.sliding_lifetime,
        last_used_at: now,
        generation: 1,
        generation_started_at: now,
        rotate: s.rotates(n.client.is_public()),
        grace: s.grace_period,
        update_claims: s.update_claims_on_refresh,
        claims_snapshot: if s.update_claims_on_refresh {
            None
        } else {
            Some(serde_json::Value::Object(n.user.claims.clone()).to_string())
        },
        cached: !s.persist,
        status: GrantStatus::Active,
    }
}

pub fn event(
    kind: &str,
    now: Timestamp,
    meta: &Meta,
    client_id: Option<&str>,
    subject: Option<&str>,
    grant_id: Option<GrantId>,
    details: serde_json::Value,
) -> Event {
    Event {
        id: baton_core::event_id(now),
        kind: kind.to_string(),
        time: now,
        client_id: client_id.map(str::to_string),
        subject: subject.map(str::to_string),
        grant_id,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        details,
    }
}

/// Stores a new grant (in the cache when `persist = false`) and its `grant.created`.
pub async fn insert(
    st: &AppState,
    g: &Grant,
    meta: &Meta,
    now: Timestamp,
) -> Result<(), StoreError> {
    let ev = event(
        "grant.created",
        now,
        meta,
        Some(&g.client_id),
        Some(&g.subject),
        Some(g.id),
        serde_json::json!({"scope": g.scope, "rotate": g.rotate, "persist": !g.cached, "online": g.online}),
    );
    log_event(&ev);
    if g.cached {
        st.grants(true).insert_grant(g, ev.clone()).await?;
        st.store.insert_events(vec![ev]).await
    } else {
        st.grants(false).insert_grant(g, ev).await
    }
}

/// Records an event: its structured log line and its row in the event log.
pub async fn record(st: &AppState, ev: Event) -> Result<(), StoreError> {
    log_event(&ev);
    st.store.insert_events(vec![ev]).await
}

/// Writes an event as a structured log line (never with token values).
pub fn log_event(e: &Event) {
    tracing::info!(
        target: "baton::event",
        event = %e.kind,
        client_id = e.client_id.as_deref().unwrap_or(""),
        subject = e.subject.as_deref().unwrap_or(""),
        grant_id = %e.grant_id.map(|g| g.to_hex()).unwrap_or_default(),
        ip = e.ip.as_deref().unwrap_or(""),
        details = %e.details,
    );
}

/// Revokes matching grants in the main store and the cache. Events of cached grants
/// are written to the main store.
pub async fn revoke_everywhere(
    st: &AppState,
    f: &GrantFilter,
    why: &Revocation,
) -> Result<Vec<GrantId>, StoreError> {
    let mut ids = st.grants(false).revoke(f, why).await?;
    let no_extra = Revocation {
        extra_events: vec![],
        ..why.clone()
    };
    // One grant, found in the main store, cannot be in the cache too: leave the cache
    // alone (a Redis outage must not stop persisted grants being revoked).
    let cached = if matches!(f, GrantFilter::Grant(_)) && !ids.is_empty() {
        Vec::new()
    } else {
        st.grants(true).revoke(f, &no_extra).await?
    };
    if !cached.is_empty() {
        let mut evs = Vec::new();
        for id in &cached {
            if let Some(g) = st.grants(true).get_grant(*id).await? {
                evs.push(Event {
                    id: baton_core::event_id(why.now),
                    kind: "grant.revoked".into(),
                    time: why.now,
                    client_id: Some(g.client_id),
                    subject: Some(g.subject),
                    grant_id: Some(*id),
                    ip: why.ip.clone(),
                    user_agent: why.user_agent.clone(),
                    details: serde_json::json!({"reason": why.reason}),
                });
            }
        }
        st.store.insert_events(evs).await?;
        ids.extend(cached);
    }
    // The store wrote the `grant.revoked` events; these are their log lines.
    for id in &ids {
        tracing::info!(
            target: "baton::event",
            event = "grant.revoked",
            grant_id = %id.to_hex(),
            reason = %why.reason,
            ip = why.ip.as_deref().unwrap_or(""),
        );
    }
    Ok(ids)
}

/// Tokens for a user: an access token, a refresh token when one is given, and an ID
/// token when `openid` is in scope.
pub struct UserTokens<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    /// The scope the access token carries (may be narrower than the grant's).
    pub scope: &'a str,
    pub grant_id: Option<GrantId>,
    pub refresh_token: Option<String>,
    pub session_id: Option<&'a str>,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
    /// Claims to use (current user claims, or the grant's snapshot).
    pub claims: &'a serde_json::Map<String, serde_json::Value>,
}

pub struct Issued {
    pub response: TokenResponse,
    pub access_jti: String,
    pub access_exp: Timestamp,
}

pub async fn issue_user_tokens(
    st: &AppState,
    now: Timestamp,
    t: &UserTokens<'_>,
) -> Result<Issued, OAuthError> {
    let released = tokens::scoped_claims(t.claims, t.scope);
    let access = tokens::access_token(
        st,
        now,
        &tokens::AccessSubject {
            client: t.client,
            subject: Some(&t.user.sub),
            scope: t.scope,
            grant_id: t.grant_id,
            session_id: t.session_id,
            auth_time: Some(t.auth_time),
            claims: Some(&released),
        },
    )
    .await?;
    let id_token = if scope::contains(t.scope, "openid") {
        Some(
            tokens::id_token(
                st,
                now,
                &tokens::IdTokenInput {
                    client: t.client,
                    user: t.user,
                    claims: &released,
                    auth_time: t.auth_time,
                    nonce: t.nonce,
                    session_id: t.session_id,
                    access_token: &access.token,
                },
            )
            .await?,
        )
    } else {
        None
    };
    Ok(Issued {
        response: TokenResponse {
            access_token: access.token,
            token_type: "Bearer".into(),
            expires_in: access.expires_in,
            refresh_token: t.refresh_token.clone(),
            id_token,
            scope: Some(t.scope.to_string()),
        },
        access_jti: access.jti,
        access_exp: access.expires_at,
    })
}

/// Parses a requested scope and checks it against what the client may have.
pub fn requested_scope(
    client: &Client,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let s = match requested {
        Some(r) => scope::parse(r).map_err(OAuthError::invalid_scope)?,
        None => Vec::new(),
    };
    if !scope::is_subset(&s, &client.scopes) {
        return Err(OAuthError::invalid_scope(
            "the requested scope is not allowed for this client",
        ));
    }
    Ok(s)
}
