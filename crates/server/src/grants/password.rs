//! The resource owner password credentials grant (RFC 6749 §4.3).

use super::{
    build, event, insert, issue_user_tokens, refresh_due, requested_scope, NewGrant, UserTokens,
};
use crate::http::error::{ApiError, ApiResult};
use crate::http::form::Form;
use crate::http::Meta;
use crate::state::AppState;
use crate::throttle::{sign_in, Attempt, SignIn};
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::model::{Client, GrantId, GrantType};
use baton_core::scope;
use baton_core::token::{RefreshClaims, FLAG_CACHED};
use baton_proto::oauth::TokenResponse;

pub async fn grant(
    st: &AppState,
    client: &Client,
    form: &Form,
    meta: &Meta,
) -> ApiResult<TokenResponse> {
    if !client.allows(GrantType::Password) {
        return Err(
            OAuthError::unauthorized_client("this client may not use the password grant").into(),
        );
    }
    let username = form.required("username")?;
    let password = form.required("password")?;
    let scopes = requested_scope(client, form.get("scope"))?;
    // SPEC §2.6: online_access binds a grant to the browser session that created it;
    // the password grant has none, so the scope cannot be honoured here.
    if scopes.iter().any(|s| s == "online_access") {
        return Err(OAuthError::invalid_scope(
            "online_access needs a browser session: use the authorization code flow",
        )
        .into());
    }
    let attempt = Attempt {
        meta,
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
            return Err(ApiError::too_many_requests(err, t.retry_after_secs()));
        }
    };
    let now = st.clock.now();
    let ev = event(
        "login.succeeded",
        now,
        meta,
        Some(&client.client_id),
        Some(&user.sub),
        None,
        serde_json::json!({"via": "password_grant"}),
    );
    super::record(st, ev).await?;
    let scope = scope::join(&scopes);
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
            },
            now,
        );
        insert(st, &g, meta, now).await?;
        refresh_token = Some(st.rt_keys.seal(&RefreshClaims {
            grant_id: g.id,
            generation: g.generation,
            flags: if g.cached { FLAG_CACHED } else { 0 },
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
            claims: &user.claims,
        },
    )
    .await?;
    Ok(issued.response)
}
