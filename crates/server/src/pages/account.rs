//! `GET, POST /account`: the signed-in user's applications (SPEC §3). Each active grant
//! is shown with the application's name, its scopes in plain words, when it was
//! allowed and last used, and one `<form method="post">` with a submit button
//! `name="revoke"` (value: the grant id) and a CSRF token bound to the browser and the
//! session. Revoking withdraws the user's consent to that application too, so that it
//! has to ask again (`prompt=none` gets `consent_required`). Below, the account's recent
//! security activity (`activity.rs`). Not signed in: the login page, then back here.

use super::activity::readable;
use super::authorize::{current_session, redirect};
use super::consent::scope_items;
use super::handle::{self, AuthRequest};
use super::html::{self, escape, page};
use super::login::csrf_cookie;
use crate::caller::Caller;
use crate::http::error::{PageError, PageResult};
use crate::http::Body;
use crate::state::{AppState, Shared};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use baton_core::model::{Grant, GrantId, Session};
use baton_core::scope::Scope;
use baton_core::store::{GrantFilter, Revocation};
use baton_core::time::Timestamp;
use std::collections::HashMap;

/// The most grants listed (newest first) from each store.
const LIST_LIMIT: usize = 500;

/// To the login page, with a handle that comes back here.
fn to_sign_in(st: &AppState) -> Response {
    sign_in_then(st, None)
}

/// To the login page, with a handle that comes back to `/account`, or to `return_to`
/// (a console page: [`AuthRequest::return_path`] refuses anything else).
pub fn sign_in_then(st: &AppState, return_to: Option<&str>) -> Response {
    let req = AuthRequest {
        client_id: String::new(),
        redirect_uri: String::new(),
        redirect_uri_omitted: false,
        scope: Scope::default(),
        state: None,
        nonce: None,
        code_challenge: None,
        dpop_jkt: None,
        resources: Vec::new(),
        prompt: Vec::new(),
        max_age: None,
        issued_at: st.clock.now().0,
        account: true,
        return_to: return_to.map(str::to_string),
    };
    redirect(&format!("/login?req={}", handle::seal(st, &req)))
}

/// What the CSRF token of the account forms is bound to, beside the browser's cookie.
fn csrf_binding(session: &Session) -> String {
    format!("account:{}", session.id)
}

/// The user's live grants, newest first, from the main store and the cache.
async fn live_grants(
    st: &AppState,
    subject: &str,
    now: Timestamp,
) -> Result<Vec<Grant>, baton_core::error::StoreError> {
    let filter = GrantFilter::Subject(subject.to_string());
    let mut out = Vec::new();
    for persist in [true, false] {
        for g in st
            .grants(persist)
            .list_grants(Some(&filter), None, LIST_LIMIT)
            .await?
        {
            if g.is_active() && g.subject == subject && g.expiry().is_none_or(|e| now < e) {
                out.push(g);
            }
        }
    }
    out.sort_by_key(|g| std::cmp::Reverse(g.created_at));
    Ok(out)
}

pub async fn get(State(st): State<Shared>, headers: HeaderMap) -> PageResult {
    let Some(session) = current_session(&st, &headers).await? else {
        return Ok(to_sign_in(&st));
    };
    let now = st.clock.now();
    let grants = live_grants(&st, &session.subject, now).await?;
    let user = st
        .store
        .get_user_by_sub(&session.subject)
        .await
        .ok()
        .flatten();
    let mut names: HashMap<String, String> = HashMap::new();
    for g in &grants {
        if !names.contains_key(&g.client_id) {
            let name = match st.store.get_client(&g.client_id).await? {
                Some(c) => c.display_name().to_string(),
                None => g.client_id.clone(),
            };
            names.insert(g.client_id.clone(), name);
        }
    }
    let (csrf_c, new) = csrf_cookie(&st, &headers);
    let csrf = handle::csrf_token(&st, &csrf_c, &csrf_binding(&session));
    let who = user
        .map(|u| {
            format!(
                "<p>Signed in as <strong>{}</strong>.</p>",
                escape(&u.username)
            )
        })
        .unwrap_or_default();
    let list = if grants.is_empty() {
        "<p>No application holds access to your account.</p>".to_string()
    } else {
        grants
            .iter()
            .map(|g| {
                let name = names.get(&g.client_id).unwrap_or(&g.client_id);
                let scopes = scope_items(&g.scope);
                format!(
                    "<section class=\"grant\"><h2>{}</h2><ul>{scopes}</ul>\
                     <p>Allowed <time datetime=\"{}\">{}</time>; last used <time datetime=\"{}\">{}</time>.</p>\
                     <form method=\"post\" action=\"/account\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <button type=\"submit\" name=\"revoke\" value=\"{}\" aria-label=\"Revoke access for {}\">Revoke access</button>\
                     </form></section>",
                    escape(name),
                    g.created_at.rfc3339(),
                    readable(g.created_at),
                    g.last_used_at.rfc3339(),
                    readable(g.last_used_at),
                    escape(&csrf),
                    g.id.to_hex(),
                    escape(name),
                )
            })
            .collect()
    };
    let activity = super::activity::section(&st, &session.subject).await?;
    let body = format!(
        "<h1>Your account</h1>{who}<p>These applications can keep using your account. \
         Revoking one signs it out: it must ask you again.</p>{list}{activity}\
         <p><a href=\"/logout\">Sign out</a></p>"
    );
    let mut resp = page(StatusCode::OK, "Your account", &body);
    if new {
        if let Ok(v) = HeaderValue::from_str(&handle::set_cookie(
            &st,
            handle::csrf_cookie_name(&st),
            &csrf_c,
            None,
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// Revokes one of the user's grants, then back to the list (303).
pub async fn post(
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let f = html::read_form(&headers, &body)?;
    let Some(session) = current_session(&st, &headers).await? else {
        return Ok(to_sign_in(&st));
    };
    if !handle::csrf_ok(
        &st,
        handle::csrf_cookie_value(&st, &headers).as_deref(),
        &csrf_binding(&session),
        f.get("csrf"),
    ) {
        return Err(PageError::Csrf);
    }
    let Some(id) = f.get("revoke").and_then(GrantId::parse) else {
        return Err(PageError::BadRequest(
            "Choose the application whose access to revoke.".into(),
        ));
    };
    let mut found = None;
    for persist in [true, false] {
        if let Some(g) = st.grants(persist).get_grant(id).await? {
            found = Some(g);
            break;
        }
    }
    // Another user's grant is answered like one that does not exist.
    let Some(grant) = found.filter(|g| g.subject == session.subject) else {
        return Err(PageError::NotFound(
            "No such application access was found on your account.",
        ));
    };
    // The page promises the application must ask again: its consent goes too. First,
    // so that a failure half-way leaves the grant listed and the revocation repeatable.
    st.store
        .delete_consents(&grant.client_id, Some(&session.subject))
        .await?;
    if grant.is_active() {
        let why = Revocation {
            reason: "revoked_by_user".into(),
            now: st.clock.now(),
            ip: caller.ip.clone(),
            user_agent: caller.user_agent.clone(),
            extra_events: vec![],
            actor: None,
        };
        crate::grants::revoke_everywhere(&st, &GrantFilter::Grant(id), &why).await?;
    }
    Ok(redirect("/account"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_readable_utc() {
        assert_eq!(readable(Timestamp(0)), "1970-01-01 00:00 UTC");
    }
}
