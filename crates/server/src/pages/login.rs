//! `GET/POST /login`: the sign-in form (SPEC §3: inputs `username` and `password`).

use super::authorize::{continue_flow, current_session, redirect};
use super::handle::{self, AuthRequest};
use super::html::{self, escape, page};
use crate::caller::Caller;
use crate::grants::event;
use crate::http::error::{PageError, PageRefusal, PageResult};
use crate::http::{form, Body};
use crate::sessions::COOKIE;
use crate::state::{AppState, Shared};
use crate::throttle::{sign_in, Attempt, SignIn};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_core::events::EventKind;
use baton_core::model::Session;

fn expired() -> PageError {
    PageError::BadRequest(
        "This sign-in request has expired or is invalid. Return to the application and start again."
            .into(),
    )
}

/// Reads `req` from a query string.
pub fn request_from_query(
    st: &AppState,
    q: Option<String>,
) -> Result<(AuthRequest, String), PageError> {
    let f = form::parse(q.unwrap_or_default().as_bytes())
        .map_err(|e| PageError::BadRequest(e.description.into()))?;
    let h = f.get("req").ok_or_else(expired)?.to_string();
    let r = handle::open(st, &h, st.clock.now()).ok_or_else(expired)?;
    Ok((r, h))
}

/// The browser's CSRF cookie, or a new one to set.
pub fn csrf_cookie(st: &AppState, headers: &HeaderMap) -> (String, bool) {
    match handle::csrf_cookie_value(st, headers) {
        Some(c) => (c, false),
        None => (baton_core::random_id(""), true),
    }
}

fn render(
    st: &AppState,
    r: &AuthRequest,
    h: &str,
    headers: &HeaderMap,
    error: Option<&str>,
    client_name: &str,
) -> Response {
    let (csrf_c, new) = csrf_cookie(st, headers);
    let csrf = handle::csrf_token(st, &csrf_c, h);
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1><p>to continue to <strong>{}</strong></p>{err}\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"req\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>",
        escape(client_name),
        escape(h),
        escape(&csrf),
    );
    let _ = r;
    let mut resp = page(StatusCode::OK, "Sign in", &body);
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

async fn client_name(st: &AppState, r: &AuthRequest) -> String {
    let client_id = r.client_id.as_str();
    if r.account && r.return_path() != "/account" {
        // A sign-in for the operator console.
        return "the operator console".to_string();
    }
    if client_id.is_empty() {
        // A sign-in for the account page (`AuthRequest::account`), not for a client.
        return "your account".to_string();
    }
    match st.store.get_client(client_id).await {
        // Its name was chosen by whoever registered it: say so (see consent).
        Ok(Some(c)) if c.dynamically_registered => {
            format!("{} (registered dynamically, unverified)", c.display_name())
        }
        Ok(Some(c)) => c.display_name().to_string(),
        _ => client_id.to_string(),
    }
}

pub async fn get(
    State(st): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> PageResult {
    let (r, h) = request_from_query(&st, q)?;
    let name = client_name(&st, &r).await;
    Ok(render(&st, &r, &h, &headers, None, &name))
}

pub async fn post(
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let f = html::read_form(&headers, &body)?;
    let h = f.get("req").ok_or_else(expired)?;
    let r = handle::open(&st, h, st.clock.now()).ok_or_else(expired)?;
    let csrf_c = handle::csrf_cookie_value(&st, &headers);
    if !handle::csrf_ok(&st, csrf_c.as_deref(), h, f.get("csrf")) {
        return Err(PageError::Csrf);
    }
    let name = client_name(&st, &r).await;
    let form_again = |msg: &str, why: PageRefusal| {
        let form = render(&st, &r, h, &headers, Some(msg), &name);
        Err(PageError::refused(form, why))
    };
    let (Some(username), Some(password)) = (f.get("username"), f.get("password")) else {
        return form_again("Enter your username and password.", PageRefusal::Invalid);
    };
    let attempt = Attempt {
        caller: &caller,
        client_id: Some(r.client_id.as_str()).filter(|c| !c.is_empty()),
        via: "login_page",
    };
    let user = match sign_in(&st, &attempt, username, password).await {
        Ok(SignIn::User(u)) => u,
        Ok(SignIn::Failed) => {
            // The same words whether the user exists or not.
            return form_again(
                "The username or password is incorrect.",
                PageRefusal::BadCredentials,
            );
        }
        // The password was not checked: the form again, saying when to retry.
        Ok(SignIn::Throttled(t)) => {
            let msg = format!(
                "Too many failed sign-in attempts. Try again in {}.",
                t.retry_in()
            );
            let retry_after = t.retry_after_secs();
            return form_again(&msg, PageRefusal::Throttled { retry_after });
        }
        Err(_) => return Err(PageError::unavailable()),
    };
    let now = st.clock.now();
    let existing = current_session(&st, &headers).await?;
    let (session, new_cookie) = match existing {
        // The same user signing in again (prompt=login, max_age): a fresh auth_time on
        // the same session. Its sid and grants stay; nothing is logged out.
        Some(old) if old.subject == user.sub => {
            st.store.reauthenticate_session(&old.id, now).await?;
            (
                Session {
                    auth_time: now,
                    ..old
                },
                None,
            )
        }
        other => {
            // Another user's session in this browser ends: that is a sign-out.
            if let Some(old) = other {
                crate::sessions::end(&st, &old.id, "replaced_by_login", now).await?;
            }
            // A new secret cookie; the session is stored under its hash (the sid).
            let secret = crate::sessions::new_cookie_secret();
            let session = Session {
                id: crate::sessions::sid_for_cookie(&secret),
                subject: user.sub.clone(),
                auth_time: now,
                created_at: now,
                last_seen_at: now,
                expires_at: now.plus(
                    st.cfg
                        .sessions
                        .idle_lifetime
                        .min(st.cfg.sessions.absolute_lifetime),
                ),
                ended_at: None,
            };
            st.store.insert_session(&session).await?;
            (session, Some(secret))
        }
    };
    let ev = event(
        EventKind::LoginSucceeded,
        now,
        &caller,
        Some(r.client_id.as_str()).filter(|c| !c.is_empty()),
        Some(&user.sub),
        None,
        serde_json::json!({"via": "login_page", "session_id": session.id}),
    );
    crate::best_effort::record_event(&st, ev).await;
    // The session cookie is set whatever comes next (an error for the client included):
    // the user is signed in.
    let mut resp = continue_flow(&st, &r, Some(&session), &caller)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if let Some(secret) = new_cookie {
        let cookie = handle::set_cookie(
            &st,
            COOKIE,
            &secret,
            Some(st.cfg.sessions.absolute_lifetime.as_secs()),
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// Used by consent when the session is gone: back to sign-in.
pub fn to_login(h: &str) -> Response {
    redirect(&format!("/login?req={h}"))
}
