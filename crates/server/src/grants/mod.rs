//! One file per grant type; shared here: grant creation (SPEC §2.2) and revocation
//! across the main store and the cache.
//!
//! Each grant takes its typed request (parsed by `http/token.rs`) and answers an
//! [`Answer`]: the tokens or a [`GrantError`], with the outcome the request counts as.

pub mod authorization_code;
pub mod client_credentials;
mod error;
pub mod password;
pub mod refresh_token;

pub use error::{GrantError, GrantResult};

use crate::caller::Caller;
use crate::metrics::Outcome;
use crate::state::AppState;
use crate::tokens;
use baton_core::claims::ClaimSource;
use baton_core::error::{OAuthError, StoreError};
use baton_core::events::EventKind;
use baton_core::model::{Client, Event, Grant, GrantId, GrantStatus, GrantType, Resource, User};
use baton_core::policy::RefreshSettings;
use baton_core::scope::Scope;
use baton_core::store::{GrantFilter, Revocation};
use baton_core::time::Timestamp;
use baton_proto::oauth::TokenResponse;

/// A grant's answer: the tokens or why not, and the outcome the request counts as in
/// `baton_token_requests_total`.
pub struct Answer {
    pub result: GrantResult<TokenResponse>,
    pub outcome: Outcome,
}

impl Answer {
    /// `issued`, or the class of the failure.
    fn counted(result: GrantResult<TokenResponse>) -> Answer {
        let outcome = match &result {
            Ok(_) => Outcome::Issued,
            Err(e) => Outcome::failed(e.is_server_side()),
        };
        Answer { result, outcome }
    }
}

/// Whether `client` may use `grant_type` at all. Each grant checks this first; the
/// token endpoint also checks it before it reads the grant's parameters, so that a
/// client that may not use a grant is told so whatever it sent. A refresh passes: the
/// client's permission is one of the facts `refresh::decide` weighs (after reuse
/// detection).
pub fn permitted(client: &Client, grant_type: GrantType) -> Result<(), OAuthError> {
    let refused = match grant_type {
        GrantType::RefreshToken => return Ok(()),
        GrantType::AuthorizationCode => "this client may not use the authorization_code grant",
        GrantType::Password => "this client may not use the password grant",
        // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        GrantType::ClientCredentials if client.is_public() => {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the client_credentials grant",
            ))
        }
        GrantType::ClientCredentials => "this client may not use the client_credentials grant",
    };
    if client.allows(grant_type) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(refused))
    }
}

/// SPEC §2.2: whether a refresh token is due for this request.
pub fn refresh_due(
    client: &Client,
    settings: &RefreshSettings,
    granted_scope: &Scope,
    grant_type: GrantType,
) -> bool {
    client.allows(GrantType::RefreshToken)
        && matches!(
            grant_type,
            GrantType::AuthorizationCode | GrantType::Password | GrantType::RefreshToken
        )
        && (!settings.require_offline_access
            || granted_scope.contains("offline_access")
            || granted_scope.contains("online_access"))
        && (!client.is_public() || settings.allow_public_clients)
}

/// What a new grant is created from.
pub struct NewGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub scope: &'a Scope,
    pub session_id: Option<&'a str>,
    pub auth_time: Timestamp,
    pub id: GrantId,
    /// The thumbprint of the DPoP key the creating request proved, if any. A public
    /// client's grant is bound to it for life (RFC 9449 §5); a confidential client's
    /// refresh tokens are bound by its authentication instead.
    pub dpop_jkt: Option<&'a str>,
    /// The resources the grant is for (RFC 8707), in the order asked.
    pub resources: Vec<String>,
}

/// Builds a grant whose effective settings are fixed now (SPEC §2.9).
pub fn build(st: &AppState, n: &NewGrant<'_>, now: Timestamp) -> Grant {
    let s = st.refresh_settings(n.client);
    let online = n.scope.contains("online_access") && n.session_id.is_some();
    Grant {
        resources: n.resources.clone(),
        id: n.id,
        client_id: n.client.client_id.clone(),
        subject: n.user.sub.clone(),
        scope: n.scope.clone(),
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
            Some(baton_core::claims::snapshot(n.user))
        },
        persist: s.persist,
        status: GrantStatus::Active,
        dpop_jkt: n
            .dpop_jkt
            .filter(|_| n.client.is_public())
            .map(str::to_string),
    }
}

/// An event of `kind` at `now` by `caller`.
///
pub fn event(
    kind: EventKind,
    now: Timestamp,
    caller: &Caller,
    client_id: Option<&str>,
    subject: Option<&str>,
    grant_id: Option<GrantId>,
    details: serde_json::Value,
) -> Event {
    Event {
        id: baton_core::event_id(now),
        kind: kind.as_str().to_string(),
        time: now,
        client_id: client_id.map(str::to_string),
        subject: subject.map(str::to_string),
        grant_id,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        details,
    }
}

/// Stores a new grant (in the cache when `persist = false`) and its `grant.created`,
/// which says how it was made (`grant_type`), in which session, and what it holds.
pub async fn insert(
    st: &AppState,
    g: &Grant,
    grant_type: &str,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), StoreError> {
    let ev = event(
        EventKind::GrantCreated,
        now,
        caller,
        Some(&g.client_id),
        Some(&g.subject),
        Some(g.id),
        serde_json::json!({
            "grant_type": grant_type,
            "session_id": g.session_id,
            "scope": g.scope,
            "rotate": g.rotate,
            "persist": g.persist,
            "online": g.online,
            "resources": g.resources,
            "dpop_bound": g.dpop_jkt.is_some(),
        }),
    );
    log_event(&ev);
    if g.persist {
        st.grants(true).insert_grant(g, ev).await
    } else {
        st.grants(false).insert_grant(g, ev.clone()).await?;
        st.store.insert_events(vec![ev]).await
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

/// Revokes matching grants in the main store and the cache.
///
/// One grant lives in exactly one of them: it is revoked there (the cache is not
/// needed to revoke a persisted grant). A bulk revocation commits the main store's
/// revocation together with its revocation markers (`Store::revoke_marking`): from
/// then on the cache's grants it covers are revoked, whatever the cache says, because
/// every use of such a grant checks the markers ([`apply_revocation_markers`]); markers
/// are written only when the cache is Redis. The
/// cache's own sweep follows as a best effort: if Redis is down, or has lost an index
/// key, the failure is logged, not answered, since the revocation already holds;
/// the grants it missed are revoked in the cache when they are next used.
///
/// One grant by id is looked up in the main store first; only a grant the main store
/// does not hold is looked for in the cache. While Redis is down that lookup fails and
/// the answer is 503 (nothing changed): the id may be a live cached grant, which a
/// "nothing revoked" (404) would wrongly call unknown.
pub async fn revoke_everywhere(
    st: &AppState,
    f: &GrantFilter,
    why: &Revocation,
) -> Result<Vec<GrantId>, StoreError> {
    if let GrantFilter::Grant(id) = f {
        let persist = st.store.get_grant(*id).await?.is_some();
        return revoke_grant(st, persist, *id, why).await;
    }
    // Only Redis can lose an index key or be down; the in-process cache's sweep below
    // cannot miss a grant, so without Redis no marker is needed (nor written).
    let mut ids = if st.cfg.storage.cache_url.is_some() {
        st.store.revoke_marking(f, why).await?
    } else {
        st.store.revoke(f, why).await?
    };
    log_revoked(&ids, why);
    let no_extra = Revocation {
        extra_events: vec![],
        ..why.clone()
    };
    match revoke_cached(st, f, &no_extra).await {
        Ok(cached) => ids.extend(cached),
        Err(e) => tracing::warn!(
            error = %e,
            reason = %why.reason,
            "revoking cached grants failed; the revocation markers revoke them when next used"
        ),
    }
    Ok(ids)
}

/// Revokes one grant in the store that holds it: the main store when `persist` (a
/// refresh token's flags tell which), else the cache.
pub async fn revoke_grant(
    st: &AppState,
    persist: bool,
    id: GrantId,
    why: &Revocation,
) -> Result<Vec<GrantId>, StoreError> {
    let f = GrantFilter::Grant(id);
    if !persist {
        revoke_cached(st, &f, why).await
    } else {
        let ids = st.store.revoke(&f, why).await?;
        log_revoked(&ids, why);
        Ok(ids)
    }
}

/// Revokes matching grants in the cache and records their `grant.revoked` events (and
/// `why.extra_events`) in the main store. Once the cache's revocation committed, a
/// failure to record them is logged, never answered: a 503 would say that nothing
/// changed.
async fn revoke_cached(
    st: &AppState,
    f: &GrantFilter,
    why: &Revocation,
) -> Result<Vec<GrantId>, StoreError> {
    let cached = st.grants(false).revoke(f, why).await?;
    log_revoked(&cached, why);
    if let Err(e) = record_cached_revocations(st, &cached, why).await {
        tracing::warn!(
            error = %e,
            reason = %why.reason,
            "recording the events of revoked cached grants failed; the grants are revoked"
        );
    }
    Ok(cached)
}

async fn record_cached_revocations(
    st: &AppState,
    cached: &[GrantId],
    why: &Revocation,
) -> Result<(), StoreError> {
    let mut evs = Vec::new();
    for id in cached {
        if let Some(g) = st.grants(false).get_grant(*id).await? {
            evs.push(Event {
                id: baton_core::event_id(why.now),
                kind: EventKind::GrantRevoked.as_str().into(),
                time: why.now,
                client_id: Some(g.client_id),
                subject: Some(g.subject),
                grant_id: Some(*id),
                ip: why.ip.clone(),
                user_agent: why.user_agent.clone(),
                details: why.details(),
            });
        }
    }
    evs.extend(why.extra_events.iter().cloned());
    if evs.is_empty() {
        return Ok(());
    }
    st.store.insert_events(evs).await
}

/// The store wrote the `grant.revoked` events; these are their log lines.
fn log_revoked(ids: &[GrantId], why: &Revocation) {
    for id in ids {
        tracing::info!(
            target: "baton::event",
            event = EventKind::GrantRevoked.as_str(),
            grant_id = %id.to_hex(),
            reason = %why.reason,
            ip = why.ip.as_deref().unwrap_or(""),
        );
    }
}

/// For a grant of the cache (`persist = false`): if a bulk revocation recorded in the
/// main store covers it (a revocation marker of its client, subject, client and
/// subject, or session, made after the grant was created), it is revoked: `g` is
/// marked so for the decision at hand, and the cache is caught up, best effort, with
/// the grant's `grant.revoked` event. Persisted grants are not looked at (their
/// revocation is on their own row).
pub async fn apply_revocation_markers(
    st: &AppState,
    g: &mut Grant,
    now: Timestamp,
) -> Result<(), StoreError> {
    if g.persist || !g.is_active() {
        return Ok(());
    }
    let scopes = baton_core::store::grant_marker_scopes(g);
    let Some(m) = st.store.revocation_marker(&scopes).await? else {
        return Ok(());
    };
    if m.at <= g.created_at {
        return Ok(());
    }
    g.status = GrantStatus::Revoked {
        at: m.at,
        reason: m.reason.clone(),
    };
    let why = Revocation {
        reason: m.reason,
        now,
        ip: None,
        user_agent: None,
        extra_events: vec![],
        actor: None,
    };
    if let Err(e) = revoke_cached(st, &GrantFilter::Grant(g.id), &why).await {
        tracing::warn!(error = %e, grant_id = %g.id.to_hex(), "catching up a cached grant's revocation failed");
    }
    Ok(())
}

/// Tokens for a user: an access token, a refresh token when one is given, and an ID
/// token when `openid` is in scope.
pub struct UserTokens<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    /// The scope the access token carries (may be narrower than the grant's).
    pub scope: &'a Scope,
    pub grant_id: Option<GrantId>,
    pub refresh_token: Option<String>,
    pub session_id: Option<&'a str>,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
    /// Claims to use (the user's current claims, roles and groups, or the grant's
    /// snapshot of them).
    pub claims: ClaimSource<'a>,
    /// The DPoP key the access token is bound to (`cnf.jkt`), if the request proved one.
    pub dpop_jkt: Option<&'a str>,
    /// The resource the access token is for (RFC 8707); `None`: the client itself.
    pub resource: Option<&'a Resource>,
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
    // The access token: the claims its own scope releases, then those the resource's
    // and the client's mappings name.
    let access_scope = crate::resources::access_scope(t.scope, t.resource);
    let mut access_claims = tokens::scoped_claims(t.claims.claims, &access_scope);
    if let Some(r) = t.resource {
        t.claims.release(&r.claims, &mut access_claims);
    }
    t.claims
        .release(&t.client.apis.access_token_claims, &mut access_claims);
    let access = tokens::access_token(
        st,
        now,
        &tokens::AccessSubject {
            client: t.client,
            subject: Some(&t.user.sub),
            scope: &access_scope,
            grant_id: t.grant_id,
            session_id: t.session_id,
            auth_time: Some(t.auth_time),
            claims: Some(&access_claims),
            dpop_jkt: t.dpop_jkt,
            resource: t.resource,
        },
    )
    .await?;
    let id_token = if t.scope.contains("openid") {
        let mut released = tokens::scoped_claims(t.claims.claims, t.scope);
        t.claims
            .release(&t.client.apis.id_token_claims, &mut released);
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
            token_type: tokens::token_type(t.dpop_jkt).into(),
            expires_in: access.expires_in,
            refresh_token: t.refresh_token.clone(),
            id_token,
            // RFC 6749 §5.1: the access token's scope.
            scope: (!access_scope.is_empty()).then(|| access_scope.to_string()),
        },
        access_jti: access.jti,
        access_exp: access.expires_at,
    })
}

/// Parses a requested scope and checks it against what the client may have.
pub fn requested_scope(client: &Client, requested: Option<&str>) -> Result<Scope, OAuthError> {
    let s = match requested {
        Some(r) => Scope::parse(r).map_err(OAuthError::invalid_scope)?,
        None => Scope::default(),
    };
    if !s.is_subset(client.scopes.iter().map(String::as_str)) {
        return Err(OAuthError::invalid_scope(
            "the requested scope is not allowed for this client",
        ));
    }
    Ok(s)
}
