//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 PKCE).

use super::{build, insert, issue_user_tokens, permitted, refresh_due, NewGrant, UserTokens};
use super::{Answer, GrantResult};
use crate::caller::Caller;
use crate::state::AppState;
use baton_core::claims::ClaimSource;
use baton_core::code::{check, CodeRejection, Exchange};
use baton_core::error::OAuthError;
use baton_core::model::{Client, CodeUse, GrantId, GrantType};
use baton_core::store::{GrantFilter, Revocation};
use baton_core::token::{RefreshClaims, FLAG_NOT_PERSISTED};
use baton_proto::oauth::TokenResponse;

fn bad_code() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or was already used")
}

/// A code exchange (RFC 6749 §4.1.3).
#[derive(Clone, Copy)]
pub struct CodeRequest<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, if it carried a proof.
    pub dpop_jkt: Option<&'a str>,
    /// RFC 8707 `resource` values (at most one is allowed).
    pub resources: &'a [&'a str],
}

// Deliberately no `Debug`: the request holds a code and a PKCE verifier.

/// `client` is the authenticated client.
pub async fn grant(
    st: &AppState,
    client: &Client,
    req: &CodeRequest<'_>,
    caller: &Caller,
) -> Answer {
    Answer::counted(exchange(st, client, req, caller).await)
}

async fn exchange(
    st: &AppState,
    client: &Client,
    req: &CodeRequest<'_>,
    caller: &Caller,
) -> GrantResult<TokenResponse> {
    permitted(client, GrantType::AuthorizationCode)?;
    let code = req.code;
    let now = st.clock.now();
    let digest = baton_core::secret::sha256(code.as_bytes());
    let Some(stored) = st.store.get_code(&digest).await? else {
        return Err(bad_code().into());
    };
    // RFC 6749 §4.1.2: a code used twice fails, and what the first use issued is
    // revoked.
    if let Some(first) = &stored.used {
        // A code bound to a key (dpop_jkt) was first redeemed with that key: a replay
        // without it is not the client's, and revoking on its word would let whoever
        // intercepted the code sign the user out (RFC 9449 §10).
        if stored.dpop_jkt.is_some() && stored.dpop_jkt.as_deref() != req.dpop_jkt {
            return Err(bad_code().into());
        }
        revoke_first_use(st, first, caller, now).await?;
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used; the tokens it issued are revoked",
        )
        .into());
    }
    let checked = check(
        &stored,
        now,
        &Exchange {
            client_id: &client.client_id,
            registered_redirect_uris: &client.redirect_uris,
            redirect_uri: req.redirect_uri,
            code_verifier: req.code_verifier,
            proof_jkt: req.dpop_jkt,
        },
    );
    if checked == Err(CodeRejection::KeyMismatch) {
        // The code of a key-bound authorization (dpop_jkt), without a proof of that key.
        let proved = req.dpop_jkt.is_some();
        crate::dpop::key_refused(st, proved, now, caller, &client.client_id, None).await;
    }
    checked.map_err(|r| r.error())?;
    let user = st
        .store
        .get_user_by_sub(&stored.subject)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| OAuthError::invalid_grant("the user is inactive"))?;
    // A code outlives nothing: if its session ended (logout, expiry) before the
    // exchange, the grant it would create would escape that session's end.
    if !session_live_now(st, &stored.session_id, now).await? {
        return Err(session_ended().into());
    }
    // RFC 8707 §2.2: the access token is for one of the authorised resources. Refused
    // before the code is consumed: the client may exchange it again correctly.
    let resource =
        crate::resources::target(st, client, req.resources, Some(&stored.resources)).await?;
    let settings = st.refresh_settings(client);
    let due = refresh_due(
        client,
        &settings,
        &stored.scope,
        GrantType::AuthorizationCode,
    );
    let grant_id = due.then(|| GrantId(baton_core::random_bytes()));
    let mut refresh_token = None;
    let mut grant = None;
    if let Some(id) = grant_id {
        let g = build(
            st,
            &NewGrant {
                client,
                user: &user,
                scope: &stored.scope,
                session_id: Some(&stored.session_id),
                auth_time: stored.auth_time,
                id,
                dpop_jkt: req.dpop_jkt,
                resources: stored.resources.clone(),
            },
            now,
        );
        refresh_token = Some(st.rt_keys.seal(&RefreshClaims {
            grant_id: id,
            generation: g.generation,
            flags: if g.persist { 0 } else { FLAG_NOT_PERSISTED },
        }));
        grant = Some(g);
    }
    let issued = issue_user_tokens(
        st,
        now,
        &UserTokens {
            client,
            user: &user,
            scope: &stored.scope,
            grant_id,
            refresh_token,
            session_id: Some(&stored.session_id),
            auth_time: stored.auth_time,
            nonce: stored.nonce.as_deref(),
            claims: ClaimSource::of(&user),
            dpop_jkt: req.dpop_jkt,
            resource: resource.as_ref(),
        },
    )
    .await?;
    // The grant is stored before the code is consumed: a concurrent replay that loses
    // the consume then always finds the winner's grant to revoke (stored after, it
    // could be revoked before it existed and survive the replay).
    if let Some(g) = &grant {
        insert(st, g, "authorization_code", caller, now).await?;
        // A logout racing this exchange: the session was live when read above, but may
        // have ended since. The session's end marks it ended and then sweeps its grants
        // again (`sessions::end`); this side inserts and then reads the session again.
        // Either the sweep sees this grant, or this read sees the session ended and the
        // grant is revoked here: no grant outlives a logout.
        if !session_live_now(st, &stored.session_id, now).await? {
            let own = CodeUse {
                at: now,
                grant_id: Some(g.id),
                access_jti: Some(issued.access_jti.clone()),
                access_exp: Some(issued.access_exp),
            };
            revoke_issued(st, &own, "session_ended", caller, now).await?;
            return Err(session_ended().into());
        }
    }
    // Consume atomically, recording what this use issues; only the winner of a
    // concurrent double exchange answers.
    let use_ = CodeUse {
        at: now,
        grant_id,
        access_jti: Some(issued.access_jti.clone()),
        access_exp: Some(issued.access_exp),
    };
    let consumed = st.store.consume_code(&digest, &use_).await;
    if !matches!(&consumed, Ok(Some(c)) if c.used.is_none()) {
        // This use lost (or failed): its own grant, never handed out, must not stay.
        if let Some(id) = grant_id {
            let own = CodeUse {
                at: now,
                grant_id: Some(id),
                access_jti: None,
                access_exp: None,
            };
            revoke_first_use(st, &own, caller, now).await?;
        }
    }
    match consumed? {
        Some(c) if c.used.is_none() => {}
        Some(c) => {
            if let Some(first) = &c.used {
                revoke_first_use(st, first, caller, now).await?;
            }
            return Err(bad_code().into());
        }
        None => return Err(bad_code().into()),
    }
    Ok(issued.response)
}

fn session_ended() -> OAuthError {
    OAuthError::invalid_grant("the session that authorized this code has ended")
}

async fn session_live_now(
    st: &AppState,
    session_id: &str,
    now: baton_core::time::Timestamp,
) -> Result<bool, baton_core::error::StoreError> {
    Ok(st
        .store
        .get_session(session_id)
        .await?
        .is_some_and(|s| s.is_live(now)))
}

async fn revoke_first_use(
    st: &AppState,
    first: &CodeUse,
    caller: &Caller,
    now: baton_core::time::Timestamp,
) -> GrantResult<()> {
    revoke_issued(st, first, "authorization_code_reused", caller, now).await
}

/// Revokes what one use of a code issued (its grant and access token) for `reason`.
async fn revoke_issued(
    st: &AppState,
    first: &CodeUse,
    reason: &str,
    caller: &Caller,
    now: baton_core::time::Timestamp,
) -> GrantResult<()> {
    if let Some(g) = first.grant_id {
        let why = Revocation {
            reason: reason.into(),
            now,
            ip: caller.ip.clone(),
            user_agent: caller.user_agent.clone(),
            extra_events: vec![],
            actor: None,
        };
        super::revoke_everywhere(st, &GrantFilter::Grant(g), &why).await?;
    }
    if let (Some(jti), Some(exp)) = (&first.access_jti, first.access_exp) {
        st.store.revoke_jti(jti, exp).await?;
    }
    Ok(())
}
