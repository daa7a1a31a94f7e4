//! `GET, POST /logout`: OIDC RP-Initiated Logout 1.0 (`end_session_endpoint`).
//!
//! - A valid `id_token_hint` (our signature, our issuer; an expired one is accepted as a
//!   hint) whose `sid` is this browser's session ends the session at once, then
//!   redirects (303) to the `post_logout_redirect_uri` if it is registered for the client
//!   (exactly), with `state`, or shows the signed-out page.
//! - Otherwise, while the browser has a session, a confirmation page (CSRF-protected
//!   form) asks first; its validated redirect travels in a MAC'd handle.
//! - Nothing is ever redirected to an address not registered for the client, and a
//!   forged hint never redirects at all. Bad input changes nothing until the user
//!   confirms.
//! - A dynamically registered client's `post_logout_redirect_uri` is never redirected
//!   to (RFC 9700 §4.11.2: anyone who can register could use it to bounce browsers
//!   anywhere): the signed-out page links to it, naming its host, and the user decides.

use super::authorize::{current_session, redirect};
use super::handle::{self, HANDLE_LIFETIME};
use super::html::{self, escape, page};
use super::login::csrf_cookie;
use crate::http::error::{PageError, PageRefusal, PageResult};
use crate::http::{form, Body};
use crate::sessions::COOKIE;
use crate::state::{AppState, Shared};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::model::{Client, SigAlg};
use baton_core::time::Timestamp;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest `state` or `post_logout_redirect_uri` accepted.
const MAX_PARAM: usize = 2048;

/// What the confirmation form carries: only values already validated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LogoutRequest {
    /// A `post_logout_redirect_uri` registered for `client_id`.
    #[serde(default)]
    pub redirect: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// `redirect` belongs to a dynamically registered client: link to it, never
    /// redirect.
    #[serde(default)]
    pub link_only: bool,
    /// When the request was made (ms).
    pub issued_at: i64,
}

fn seal(st: &AppState, r: &LogoutRequest) -> String {
    let json = serde_json::to_vec(r).unwrap_or_default();
    let tag = hmac::sign(&st.page_key, &[b"logout:".as_slice(), &json].concat());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

/// Opens a logout handle; `None` if forged, altered or older than `HANDLE_LIFETIME`.
fn open(st: &AppState, h: &str, now: Timestamp) -> Option<LogoutRequest> {
    if h.len() > 16 * 1024 {
        return None;
    }
    let (j, t) = h.split_once('.')?;
    let json = URL_SAFE_NO_PAD.decode(j).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
    hmac::verify(&st.page_key, &[b"logout:".as_slice(), &json].concat(), &tag).ok()?;
    let r: LogoutRequest = serde_json::from_slice(&json).ok()?;
    let age = now.since(Timestamp(r.issued_at));
    (age >= baton_core::time::Dur::ZERO && age < HANDLE_LIFETIME).then_some(r)
}

/// What an `id_token_hint` told us.
#[derive(Debug)]
enum Hint {
    Absent,
    /// Not an ID token of ours: forged, altered, another issuer, junk.
    Invalid,
    Valid {
        /// The client it was issued to.
        client_id: Option<String>,
        sid: Option<String>,
    },
}

/// Verifies an ID token of ours (signature with a published key, `iss`, `typ`). Its
/// expiry is not checked: OIDC RP-Initiated Logout §2 accepts an expired ID token as a
/// hint of who is signing out of which client.
fn verify_hint(st: &AppState, token: &str) -> Hint {
    let Ok(v) = crate::jwt::verify(token, &st.keyring().jwks(), &SigAlg::ALL) else {
        return Hint::Invalid;
    };
    // Access tokens (`at+jwt`) and logout tokens (`logout+jwt`) are signed with the same
    // keys; only an ID token is a hint.
    let typ_ok = match &v.header["typ"] {
        Value::Null => true,
        Value::String(t) => t.eq_ignore_ascii_case("JWT"),
        _ => false,
    };
    if !typ_ok
        || v.claims["iss"].as_str() != Some(st.cfg.issuer.as_str())
        || v.claims["sub"].as_str().is_none()
    {
        return Hint::Invalid;
    }
    let client_id = match &v.claims["aud"] {
        Value::String(a) => Some(a.clone()),
        Value::Array(a) => match (v.claims["azp"].as_str(), a.as_slice()) {
            (Some(azp), _) if a.iter().any(|x| x.as_str() == Some(azp)) => Some(azp.to_string()),
            (_, [Value::String(only)]) => Some(only.clone()),
            _ => None,
        },
        _ => None,
    };
    if client_id.is_none() {
        return Hint::Invalid;
    }
    Hint::Valid {
        client_id,
        sid: v.claims["sid"].as_str().map(str::to_string),
    }
}

pub async fn get(
    State(st): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> PageResult {
    let f = form::parse(q.unwrap_or_default().as_bytes())
        .map_err(|e| PageError::BadRequest(e.description.into()))?;
    request(&st, &headers, &f).await
}

/// An RP-initiated logout sent as a form POST (the spec allows GET and POST), or the
/// confirmation form (it carries `logout` and `csrf`).
pub async fn post(State(st): State<Shared>, headers: HeaderMap, Body(body): Body) -> PageResult {
    let f = html::read_form(&headers, &body)?;
    if f.has("logout") || f.has("csrf") || f.has("confirm") {
        confirm(&st, &headers, &f).await
    } else {
        request(&st, &headers, &f).await
    }
}

/// The logout request from a relying party.
async fn request(st: &AppState, headers: &HeaderMap, f: &form::Form) -> PageResult {
    let state = f.get("state");
    let plru = f.get("post_logout_redirect_uri");
    if state.is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(PageError::BadRequest(
            "The state parameter is too long.".into(),
        ));
    }
    if plru.is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(PageError::BadRequest(
            "The post_logout_redirect_uri parameter is too long.".into(),
        ));
    }
    let hint = match f.get("id_token_hint") {
        None => Hint::Absent,
        Some(t) => verify_hint(st, t),
    };
    // The client: the hint's audience or `client_id`; when both are given they agree.
    let client_param = f.get("client_id");
    let client_id = match (&hint, client_param) {
        (
            Hint::Valid {
                client_id: Some(a), ..
            },
            Some(c),
        ) if a != c => {
            return Err(PageError::BadRequest(
                "The client_id does not match the application the id_token_hint was issued to. You have not been signed out.".into(),
            ))
        }
        (
            Hint::Valid {
                client_id: Some(a), ..
            },
            _,
        ) => Some(a.clone()),
        (_, Some(c)) => Some(c.to_string()),
        _ => None,
    };
    let client: Option<Client> = match &client_id {
        None => None,
        Some(id) => st.store.get_client(id).await?,
    };
    if client.is_none() && client_param.is_some() && !matches!(hint, Hint::Invalid) {
        return Err(PageError::BadRequest(
            "Unknown client. You have not been signed out.".into(),
        ));
    }
    // Where to go afterwards: only an exactly registered URI, and never on a bad hint.
    let mut problem: Option<&str> = None;
    let mut redirect_to: Option<String> = None;
    if matches!(hint, Hint::Invalid) {
        problem = Some("This sign-out request could not be verified: its id_token_hint is not a valid ID token from this server. You will not be sent back to the application.");
    } else if let Some(u) = plru {
        match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == u) => {
                redirect_to = Some(u.to_string());
            }
            Some(_) => problem = Some("The address the application asked to return to after signing out is not registered for it. You will not be sent there."),
            None => problem = Some("The address to return to after signing out cannot be checked without an id_token_hint or client_id. You will not be sent there."),
        }
    }
    let app = client.as_ref().map(|c| c.display_name().to_string());
    let link_only = client.as_ref().is_some_and(|c| c.dynamically_registered);
    let session = current_session(st, headers).await?;
    match (&hint, session) {
        // Verified, for this very session: end it now.
        (Hint::Valid { sid: Some(sid), .. }, Some(s)) if *sid == s.id && problem.is_none() => {
            let back = Back {
                uri: redirect_to.as_deref(),
                state,
                link_only,
                app: app.as_deref(),
            };
            finish(st, Some(&s.id), back).await
        }
        // Verified, and no session here to end: back to the application.
        (Hint::Valid { .. }, None) if problem.is_none() => {
            let back = Back {
                uri: redirect_to.as_deref(),
                state,
                link_only,
                app: app.as_deref(),
            };
            finish(st, None, back).await
        }
        // Nothing to end.
        (_, None) => {
            let link = redirect_to.as_deref().map(|u| {
                (
                    with_state(u, state),
                    link_label(u, app.as_deref(), link_only),
                )
            });
            refused_if(problem, signed_out(st, problem, link))
        }
        // Ask first.
        (_, Some(_)) => {
            let req = LogoutRequest {
                redirect: redirect_to,
                state: state.map(str::to_string),
                client_id: client.map(|c| c.client_id),
                link_only,
                issued_at: st.clock.now().0,
            };
            let page = confirmation(st, headers, &req, app.as_deref(), problem);
            refused_if(problem, page)
        }
    }
}

/// A page naming a problem (a forged hint, an unregistered address) is answered as
/// invalid input; otherwise it is the answer.
fn refused_if(problem: Option<&str>, page: Response) -> PageResult {
    match problem {
        Some(_) => Err(PageError::refused(page, PageRefusal::Invalid)),
        None => Ok(page),
    }
}

/// `uri` with `state` appended (the URI is registered, so it parses).
fn with_state(uri: &str, state: Option<&str>) -> String {
    match (url::Url::parse(uri), state) {
        (Ok(mut u), Some(s)) => {
            u.query_pairs_mut().append_pair("state", s);
            u.to_string()
        }
        (Ok(u), None) => u.to_string(),
        (Err(_), _) => uri.to_string(),
    }
}

/// Where the browser goes after signing out.
struct Back<'a> {
    /// A `post_logout_redirect_uri` registered for the client.
    uri: Option<&'a str>,
    state: Option<&'a str>,
    /// Show a link to `uri` rather than redirecting (a dynamically registered client).
    link_only: bool,
    /// The client's display name.
    app: Option<&'a str>,
}

/// The words of a link back to the application: for a dynamically registered client,
/// its name (chosen by whoever registered it) with the host the link leads to.
fn link_label(uri: &str, app: Option<&str>, link_only: bool) -> String {
    let app = app.unwrap_or("the application");
    if !link_only {
        return app.to_string();
    }
    let host = url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    format!("{app} at {host} (registered dynamically, unverified)")
}

/// Ends the session (if any), clears the cookie, and redirects or says so.
async fn finish(st: &AppState, session_id: Option<&str>, back: Back<'_>) -> PageResult {
    if let Some(id) = session_id {
        crate::sessions::end(st, id, "logout", st.clock.now()).await?;
    }
    let mut resp = match back.uri {
        Some(u) if back.link_only => {
            let link = (with_state(u, back.state), link_label(u, back.app, true));
            signed_out_page(None, Some(link))
        }
        Some(u) => redirect(&with_state(u, back.state)),
        None => signed_out_page(None, None),
    };
    clear_session_cookie(st, &mut resp);
    Ok(resp)
}

fn clear_session_cookie(st: &AppState, resp: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&handle::set_cookie(st, COOKIE, "", Some(0))) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn signed_out(st: &AppState, problem: Option<&str>, link: Option<(String, String)>) -> Response {
    let mut resp = signed_out_page(problem, link);
    clear_session_cookie(st, &mut resp);
    resp
}

fn signed_out_page(problem: Option<&str>, link: Option<(String, String)>) -> Response {
    let note = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let back = link
        .map(|(href, app)| {
            format!(
                "<p><a href=\"{}\">Return to {}</a></p>",
                escape(&href),
                escape(&app)
            )
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Signed out",
        &format!("<h1>You are signed out</h1>{note}<p>You can close this window.</p>{back}"),
    )
}

fn confirmation(
    st: &AppState,
    headers: &HeaderMap,
    req: &LogoutRequest,
    app: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let h = seal(st, req);
    let (csrf_c, new) = csrf_cookie(st, headers);
    let csrf = handle::csrf_token(st, &csrf_c, &h);
    let note = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let from = app
        .map(|a| format!(" <strong>{}</strong> asks you to sign out.", escape(a)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign out?</h1>{note}<p>{from} Signing out ends your session here and tells the \
         applications you used through it.</p>\
         <form method=\"post\" action=\"/logout\">\
         <input type=\"hidden\" name=\"logout\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>\
         <p>If you did not mean to sign out, close this page: you stay signed in.</p>",
        escape(&h),
        escape(&csrf),
    );
    let mut resp = page(StatusCode::OK, "Sign out?", &body);
    if new {
        if let Ok(v) = HeaderValue::from_str(&handle::set_cookie(
            st,
            handle::csrf_cookie_name(st),
            &csrf_c,
            None,
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The confirmation form's submit: checks handle and CSRF, then ends the session.
async fn confirm(st: &AppState, headers: &HeaderMap, f: &form::Form) -> PageResult {
    let expired = || {
        PageError::BadRequest(
            "This sign-out request has expired or is invalid. Start again from the application, or open /logout.".into(),
        )
    };
    let h = f.get("logout").ok_or_else(expired)?;
    let req = open(st, h, st.clock.now()).ok_or_else(expired)?;
    if !handle::csrf_ok(
        st,
        handle::csrf_cookie_value(st, headers).as_deref(),
        h,
        f.get("csrf"),
    ) {
        return Err(PageError::Csrf);
    }
    if f.get("confirm") != Some("yes") {
        return Err(PageError::BadRequest("Press Sign out to sign out.".into()));
    }
    let session = current_session(st, headers).await?;
    let back = Back {
        uri: req.redirect.as_deref(),
        state: req.state.as_deref(),
        link_only: req.link_only,
        app: None,
    };
    finish(st, session.as_ref().map(|s| s.id.as_str()), back).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_appended_to_the_registered_uri() {
        assert_eq!(
            with_state("https://app.example/bye?x=1", Some("a b&c")),
            "https://app.example/bye?x=1&state=a+b%26c"
        );
        assert_eq!(
            with_state("https://app.example/bye", None),
            "https://app.example/bye"
        );
    }
}
