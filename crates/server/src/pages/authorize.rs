//! `GET /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): validate, then send the user
//! through login and consent as needed, then back to the client with a code.
//!
//! A dynamically registered client's redirect URI is not trusted for automatic
//! redirects (RFC 9700 §4.11.2: anyone who can register could otherwise use this server
//! to bounce browsers to any site): the errors this request raises before the user has
//! signed in or answered the consent page are shown as an error page instead.

use super::handle::{self, AuthRequest};
use crate::caller::Caller;
use crate::http::error::{PageError, PageResult};
use crate::sessions::COOKIE;
use crate::state::{AppState, Shared};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::model::{AuthCode, Client, GrantType, Session};
use baton_core::time::{Dur, Timestamp};

/// The authorization code's lifetime (single use, stored as a digest).
pub const CODE_LIFETIME: Dur = Dur::secs(60);

/// A redirect (303) to `location`.
pub fn redirect(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// An authorization error for this request: sent back to the client when
/// `redirect_errors` (the client is trusted, or the user took part already), else shown
/// ([`PageError::Untrusted`]).
fn auth_error(
    st: &AppState,
    redirect_uri: &str,
    state: Option<&str>,
    redirect_errors: bool,
    code: ErrorCode,
    desc: &str,
) -> PageError {
    let err = OAuthError::new(code, desc);
    if redirect_errors {
        PageError::to_client(redirect_uri, state, &st.cfg.issuer, &err)
    } else {
        PageError::Untrusted(err)
    }
}

pub async fn get(
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> PageResult {
    let f = crate::http::form::parse(q.unwrap_or_default().as_bytes())
        .map_err(|e| PageError::BadRequest(e.description.into()))?;
    // Until client and redirect_uri are known good, errors are shown, never redirected
    // (RFC 6749 §4.1.2.1).
    let Some(client_id) = f.get("client_id") else {
        return Err(PageError::BadRequest(
            "the client_id parameter is required".into(),
        ));
    };
    let client = match st.store.get_client(client_id).await {
        Ok(Some(c)) if c.active => c,
        Ok(_) => return Err(PageError::BadRequest("unknown client".into())),
        Err(_) => {
            return Err(PageError::Unavailable(
                "the server is temporarily unavailable; try again",
            ))
        }
    };
    let redirect_uri = match f.get("redirect_uri") {
        // Exact, or any port on a public client's loopback IP literal (RFC 8252 §7.3).
        Some(r) if baton_core::redirect::is_registered(&client, r) => r.to_string(),
        Some(_) => {
            return Err(PageError::BadRequest(
                "the redirect_uri is not registered for this client".into(),
            ))
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(PageError::BadRequest(
                "the redirect_uri parameter is required".into(),
            ))
        }
    };
    let state = f.get("state").map(str::to_string);
    let trusted = !client.dynamically_registered;
    let fail = |code: ErrorCode, desc: &str| {
        Err(auth_error(
            &st,
            &redirect_uri,
            state.as_deref(),
            trusted,
            code,
            desc,
        ))
    };
    use ErrorCode::{InvalidRequest, InvalidScope};
    if state.as_ref().is_some_and(|s| s.len() > 2048) {
        return fail(InvalidRequest, "state is too long");
    }
    if f.get("request").is_some() || f.get("request_uri").is_some() {
        return fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        );
    }
    match f.get("response_type") {
        Some("code") => {}
        None => return fail(InvalidRequest, "response_type is required"),
        Some(_) => {
            return fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )
        }
    }
    if let Some(m) = f.get("response_mode") {
        if m != "query" {
            return fail(InvalidRequest, "only response_mode=query is supported");
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        );
    }
    let scope = match crate::grants::requested_scope(&client, f.get("scope")) {
        // RFC 6749 §3.3: without a default, a request that omits scope fails. (An
        // empty request would otherwise skip consent: there is nothing to consent to.)
        Ok(s) if s.is_empty() => return fail(InvalidScope, "the scope parameter is required"),
        Ok(s) => s,
        Err(e) => return fail(InvalidScope, &e.description),
    };
    // RFC 7636 / RFC 9700 §2.1.1: S256 only; required for public clients.
    let code_challenge = f.get("code_challenge").map(str::to_string);
    match (f.get("code_challenge_method"), &code_challenge) {
        (Some("S256"), Some(c)) if baton_core::pkce::challenge_is_well_formed(c) => {}
        (Some("S256"), Some(_)) => return fail(InvalidRequest, "code_challenge is malformed"),
        (Some("plain"), _) => {
            return fail(
                InvalidRequest,
                "code_challenge_method plain is refused: use S256",
            )
        }
        (Some(_), Some(_)) => return fail(InvalidRequest, "code_challenge_method must be S256"),
        (None, Some(_)) => {
            return fail(
                InvalidRequest,
                "code_challenge_method=S256 is required with code_challenge",
            )
        }
        (Some(_), None) => {
            return fail(
                InvalidRequest,
                "code_challenge_method given without code_challenge",
            )
        }
        (None, None) if client.is_public() => {
            return fail(
                InvalidRequest,
                "PKCE (code_challenge with S256) is required for public clients",
            )
        }
        (None, None) => {}
    }
    let prompt: Vec<String> = f
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if prompt
        .iter()
        .any(|p| !matches!(p.as_str(), "none" | "login" | "consent"))
    {
        return fail(InvalidRequest, "prompt may be none, login or consent");
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return fail(
            InvalidRequest,
            "prompt=none cannot be combined with other values",
        );
    }
    let max_age = match f.get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(v) if (0..=10 * 365 * 86_400).contains(&v) => Some(v),
            _ => {
                return fail(
                    InvalidRequest,
                    "max_age must be a non-negative number of seconds",
                )
            }
        },
    };
    let nonce = f.get("nonce").map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return fail(InvalidRequest, "nonce is too long");
    }
    // RFC 9449 §10: a JWK SHA-256 thumbprint, base64url without padding.
    let dpop_jkt = f.get("dpop_jkt").map(str::to_string);
    if dpop_jkt.as_ref().is_some_and(|j| {
        j.len() != 43
            || !j
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return fail(
            InvalidRequest,
            "dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)",
        );
    }
    // RFC 8707 §2: `resource` may repeat; each must be one this client may request.
    let resources = match crate::resources::authorized(&st, &client, &f.all("resource")).await {
        Ok(r) => r.into_iter().map(|r| r.identifier).collect(),
        Err(e) if e.code == ErrorCode::TemporarilyUnavailable => {
            return Err(PageError::Unavailable(
                "the server is temporarily unavailable; try again",
            ))
        }
        Err(e) => return fail(e.code, &e.description),
    };
    let req = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_omitted: f.get("redirect_uri").is_none(),
        scope,
        state,
        nonce,
        code_challenge,
        dpop_jkt,
        resources,
        prompt,
        max_age,
        issued_at: st.clock.now().0,
        account: false,
        return_to: None,
    };
    let session = current_session(&st, &headers).await?;
    next_step(&st, &req, session.as_ref(), &caller, trusted).await
}

/// The live browser session this request carries, if any. A store failure is the
/// 503 page: never mistaken for "signed out".
pub async fn current_session(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, PageError> {
    let Some(cookie) = handle::cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let now = st.clock.now();
    let Some(s) = st
        .store
        .get_session(&crate::sessions::sid_for_cookie(&cookie))
        .await?
    else {
        return Ok(None);
    };
    if !s.is_live(now) {
        return Ok(None);
    }
    // Sliding idle lifetime, never past the absolute one; written at most once a minute.
    if now.since(s.last_seen_at) > Dur::secs(60) {
        let exp = now
            .plus(st.cfg.sessions.idle_lifetime)
            .min(s.created_at.plus(st.cfg.sessions.absolute_lifetime));
        st.store.touch_session(&s.id, now, exp).await?;
    }
    Ok(Some(s))
}

/// Whether the user must (re-)authenticate for this request: no session, or
/// `prompt=login` / `max_age` ask for a sign-in newer than the session's, unless the
/// user signed in after this request began (which satisfies both).
pub fn needs_login(req: &AuthRequest, session: Option<&Session>, now: Timestamp) -> bool {
    match session {
        None => true,
        Some(s) if s.auth_time.0 >= req.issued_at => false,
        Some(s) => {
            req.prompts("login")
                || req
                    .max_age
                    .is_some_and(|m| now.since(s.auth_time) > Dur::secs(m))
        }
    }
}

/// After login or consent: decide the next step.
pub async fn continue_flow(
    st: &AppState,
    req: &AuthRequest,
    session: Option<&Session>,
    caller: &Caller,
) -> PageResult {
    next_step(st, req, session, caller, true).await
}

/// Decides the next step; errors go back to the client only when `redirect_errors`
/// (the user took part already, or the client is trusted), else they are shown.
async fn next_step(
    st: &AppState,
    req: &AuthRequest,
    session: Option<&Session>,
    caller: &Caller,
    redirect_errors: bool,
) -> PageResult {
    let now = st.clock.now();
    let fail = |code: ErrorCode, desc: &str| {
        Err(auth_error(
            st,
            &req.redirect_uri,
            req.state.as_deref(),
            redirect_errors,
            code,
            desc,
        ))
    };
    let needs_login = needs_login(req, session, now);
    let h = handle::seal(st, req);
    if needs_login {
        if req.prompts("none") {
            return fail(ErrorCode::LoginRequired, "the user is not signed in");
        }
        return Ok(redirect(&format!("/login?req={h}")));
    }
    let Some(session) = session else {
        return fail(ErrorCode::LoginRequired, "the user is not signed in");
    };
    if req.account {
        // A sign-in for the account page (or a console page), not an authorization:
        // back to it.
        return Ok(redirect(req.return_path()));
    }
    let consented = match st.store.get_consent(&session.subject, &req.client_id).await {
        Ok(c) => c,
        Err(_) => {
            return fail(
                ErrorCode::TemporarilyUnavailable,
                "the server is temporarily unavailable",
            )
        }
    };
    let all_consented = req
        .scope
        .is_subset(consented.scopes.iter().map(String::as_str))
        && req
            .resources
            .iter()
            .all(|r| consented.resources.contains(r));
    if !all_consented || req.prompts("consent") {
        if req.prompts("none") {
            return fail(
                ErrorCode::ConsentRequired,
                "the user has not consented to this request",
            );
        }
        return Ok(redirect(&format!("/consent?req={h}")));
    }
    issue_code(st, req, session, caller).await
}

/// The client as it is now, if it still allows this request: active, the redirect URI
/// still registered, the code flow and every requested scope still allowed. The request
/// was checked at `/authorize`, but its handle may be minutes old and an administrator
/// may have changed the client meanwhile. Otherwise the page to show: never a redirect,
/// since the URI may no longer be the client's.
pub async fn client_still_allows(st: &AppState, req: &AuthRequest) -> Result<Client, PageError> {
    let refuse = |msg: &'static str| Err(PageError::BadRequest(msg.into()));
    let client = match st.store.get_client(&req.client_id).await? {
        Some(c) if c.active => c,
        _ => return refuse("This application is no longer available."),
    };
    if !baton_core::redirect::is_registered(&client, &req.redirect_uri) {
        return refuse("This application's address has changed; start again from the application.");
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return refuse("This application may no longer use this way of signing in.");
    }
    if !req
        .scope
        .is_subset(client.scopes.iter().map(String::as_str))
    {
        return refuse(
            "This application may no longer ask for the access it requested; start again from the application.",
        );
    }
    if !req
        .resources
        .iter()
        .all(|r| client.apis.resources.contains(r))
    {
        return refuse(
            "This application may no longer ask for access to a service it requested; start again from the application.",
        );
    }
    Ok(client)
}

/// Issues a code and redirects to the client (RFC 6749 §4.1.2, RFC 9207 `iss`), if
/// the client still allows the request ([`client_still_allows`]).
pub async fn issue_code(
    st: &AppState,
    req: &AuthRequest,
    session: &Session,
    _meta: &Caller,
) -> PageResult {
    client_still_allows(st, req).await?;
    let now: Timestamp = st.clock.now();
    let raw = baton_core::random_bytes::<32>();
    let code = URL_SAFE_NO_PAD.encode(raw);
    let record = AuthCode {
        digest: baton_core::secret::sha256(code.as_bytes()),
        client_id: req.client_id.clone(),
        // Empty when the request omitted it: the exchange need not repeat it then.
        redirect_uri: if req.redirect_uri_omitted {
            String::new()
        } else {
            req.redirect_uri.clone()
        },
        scope: req.scope.clone(),
        subject: session.subject.clone(),
        session_id: session.id.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        dpop_jkt: req.dpop_jkt.clone(),
        resources: req.resources.clone(),
        auth_time: session.auth_time,
        expires_at: now.plus(CODE_LIFETIME),
        used: None,
    };
    // The client is now one of the session's: back-channel logout tells it when the
    // session ends, even if it never holds a grant.
    let recorded = st
        .store
        .add_session_client(&session.id, &req.client_id)
        .await;
    if recorded.is_err() || st.store.insert_code(&record).await.is_err() {
        return Err(auth_error(
            st,
            &req.redirect_uri,
            req.state.as_deref(),
            true,
            ErrorCode::TemporarilyUnavailable,
            "the server is temporarily unavailable",
        ));
    }
    let Ok(mut url) = url::Url::parse(&req.redirect_uri) else {
        return Err(PageError::BadRequest("the redirect URI is invalid".into()));
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = &req.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &st.cfg.issuer);
    }
    Ok(redirect(url.as_str()))
}
