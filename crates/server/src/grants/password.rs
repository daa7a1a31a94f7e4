//! The resource owner password credentials grant (RFC 6749 §4.3).

use super::{
    build, event, insert, issue_user_tokens, permitted, refresh_due, requested_scope, NewGrant,
    UserTokens,
};
use super::{Answer, GrantError, GrantResult};
use crate::caller::Caller;
use crate::state::AppState;
use crate::throttle::{sign_in, Attempt, SignIn};
use baton_core::claims::ClaimSource;
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::events::EventKind;
use baton_core::model::{Client, GrantId, GrantType};
use baton_core::token::{RefreshClaims, FLAG_NOT_PERSISTED};
use baton_proto::oauth::TokenResponse;

/// A password grant request (RFC 6749 §4.3.2).
#[derive(Clone, Copy)]
pub struct PasswordRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub scope: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, if it carried a proof.
    pub dpop_jkt: Option<&'a str>,
    /// RFC 8707 `resource` values (at most one is allowed).
    pub resources: &'a [&'a str],
}

// Deliberately no `Debug`: the request holds a password.

/// `client` is the authenticated client.
pub async fn grant(
    st: &AppState,
    client: &Client,
    req: &PasswordRequest<'_>,
    caller: &Caller,
) -> Answer {
    Answer::counted(sign_in_and_issue(st, client, req, caller).await)
}

async fn sign_in_and_issue(
    st: &AppState,
    client: &Client,
    req: &PasswordRequest<'_>,
    caller: &Caller,
) -> GrantResult<TokenResponse> {
    permitted(client, GrantType::Password)?;
    let (username, password) = (req.username, req.password);
    let scope = requested_scope(client, req.scope)?;
    // SPEC §2.6: online_access binds a grant to the browser session that created it;
    // the password grant has none, so the scope cannot be honoured here.
    if scope.contains("online_access") {
        return Err(OAuthError::invalid_scope(
            "online_access needs a browser session: use the authorization code flow",
        )
        .into());
    }
    // Checked before the password, which this refusal then does not spend.
    let resource = crate::resources::target(st, client, req.resources, None).await?;
    let attempt = Attempt {
        caller,
        client_id: Some(&client.client_id),
        via: "password_grant",
    };
    let user = match sign_in(st, &attempt, username, password).await? {
        SignIn::User(u) => u,
        // Does not say whether the user exists.
        SignIn::Failed => {
            return Err(OAuthError::invalid_grant("the username or password is incorrect").into())
        }
        // Not invalid_grant: the password was not even checked. temporarily_unavailable
        // (try again later) with 429 and Retry-After.
        SignIn::Throttled(t) => {
            let words = format!(
                "too many failed sign-in attempts: retry in {}",
                t.retry_in()
            );
            let err = OAuthError::new(ErrorCode::TemporarilyUnavailable, words);
            return Err(GrantError::Throttled {
                err,
                retry_after_secs: t.retry_after_secs(),
            });
        }
    };
    let now = st.clock.now();
    let ev = event(
        EventKind::LoginSucceeded,
        now,
        caller,
        Some(&client.client_id),
        Some(&user.sub),
        None,
        serde_json::json!({"via": "password_grant"}),
    );
    super::record(st, ev).await?;
    let settings = st.refresh_settings(client);
    let mut grant_id = None;
    let mut refresh_token = None;
    if refresh_due(client, &settings, &scope, GrantType::Password) {
        let g = build(
            st,
            &NewGrant {
                client,
                user: &user,
                scope: &scope,
                session_id: None,
                auth_time: now,
                id: GrantId(baton_core::random_bytes()),
                dpop_jkt: req.dpop_jkt,
                // The grant holds the resource its first token is for.
                resources: resource.iter().map(|r| r.identifier.clone()).collect(),
            },
            now,
        );
        insert(st, &g, "password", caller, now).await?;
        refresh_token = Some(st.rt_keys.seal(&RefreshClaims {
            grant_id: g.id,
            generation: g.generation,
            flags: if g.persist { 0 } else { FLAG_NOT_PERSISTED },
        }));
        grant_id = Some(g.id);
    }
    let issued = issue_user_tokens(
        st,
        now,
        &UserTokens {
            client,
            user: &user,
            scope: &scope,
            grant_id,
            refresh_token,
            session_id: None,
            auth_time: now,
            nonce: None,
            claims: ClaimSource::of(&user),
            dpop_jkt: req.dpop_jkt,
            resource: resource.as_ref(),
        },
    )
    .await?;
    Ok(issued.response)
}
