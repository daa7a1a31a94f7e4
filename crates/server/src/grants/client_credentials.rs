//! The client credentials grant (RFC 6749 §4.4): an access token, never a refresh
//! token (SPEC §2.2).

use super::{permitted, requested_scope, Answer, GrantResult};
use crate::state::AppState;
use crate::tokens;
use baton_core::error::OAuthError;
use baton_core::model::{Client, GrantType};
use baton_core::scope::Scope;
use baton_proto::oauth::TokenResponse;

/// A client credentials request (RFC 6749 §4.4.2).
#[derive(Clone, Copy, Debug)]
pub struct ClientCredentialsRequest<'a> {
    pub scope: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, if it carried a proof.
    pub dpop_jkt: Option<&'a str>,
    /// RFC 8707 `resource` values (at most one is allowed).
    pub resources: &'a [&'a str],
}

/// `client` is the authenticated client.
pub async fn grant(st: &AppState, client: &Client, req: &ClientCredentialsRequest<'_>) -> Answer {
    Answer::counted(issue(st, client, req).await)
}

async fn issue(
    st: &AppState,
    client: &Client,
    req: &ClientCredentialsRequest<'_>,
) -> GrantResult<TokenResponse> {
    permitted(client, GrantType::ClientCredentials)?;
    let resource = crate::resources::target(st, client, req.resources, None).await?;
    let scope = match (req.scope, &resource) {
        // A resource asked for without a scope: every scope of it the client may have.
        (None, Some(r)) => Scope::from_tokens(r.scopes.iter().map(String::as_str))
            .intersection(client.scopes.iter().map(String::as_str)),
        _ => requested_scope(client, req.scope)?,
    };
    let scope = crate::resources::access_scope(&scope, resource.as_ref());
    if scope
        .iter()
        .any(|s| matches!(s, "openid" | "offline_access" | "online_access"))
    {
        return Err(OAuthError::invalid_scope(
            "openid, offline_access and online_access need a user",
        )
        .into());
    }
    let now = st.clock.now();
    let access = tokens::access_token(
        st,
        now,
        &tokens::AccessSubject {
            client,
            subject: None,
            scope: &scope,
            grant_id: None,
            session_id: None,
            auth_time: None,
            claims: None,
            dpop_jkt: req.dpop_jkt,
            resource: resource.as_ref(),
        },
    )
    .await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: tokens::token_type(req.dpop_jkt).into(),
        expires_in: access.expires_in,
        refresh_token: None,
        id_token: None,
        scope: (!scope.is_empty()).then(|| scope.into_string()),
    })
}
