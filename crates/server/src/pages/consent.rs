//! `GET/POST /consent`: the consent form (SPEC §3: buttons `decision=allow|deny`),
//! naming `offline_access` in plain words. A dynamically registered client is labelled
//! as such, with the host it will send the user to: anyone can register a client named
//! like a trusted application.

use super::authorize::{current_session, issue_code, needs_login};
use super::handle::{self, AuthRequest};
use super::html::{self, escape, page};
use super::login::{csrf_cookie, request_from_query, to_login};
use crate::caller::Caller;
use crate::grants::event;
use crate::http::error::{PageError, PageResult};
use crate::http::Body;
use crate::state::{AppState, Shared};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use baton_core::error::{ErrorCode, OAuthError};
use baton_core::events::EventKind;
use baton_core::model::Resource;
use baton_core::scope::Scope;
use baton_core::store::Consent;

/// Plain words for a scope; unknown scopes are shown by name.
pub fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "confirm who you are",
        "profile" => "see your name and basic profile details",
        "email" => "see your email address",
        "address" => "see your postal address",
        "phone" => "see your phone number",
        "offline_access" => "keep access while you are away, until you revoke it",
        "online_access" => "keep access while you stay signed in here",
        _ => "a permission defined by the application",
    }
}

/// The `<li>` items naming each scope in plain words (consent and account pages).
pub fn scope_items(scope: &Scope) -> String {
    scope
        .iter()
        .map(|s| {
            format!(
                "<li><strong>{}</strong>: {}</li>",
                escape(s),
                escape(describe(s))
            )
        })
        .collect()
}

/// The `<li>` items naming what each requested resource (API) will be allowed to do:
/// its name, then each requested scope of it in the resource's own words. The scopes of
/// a resource are left out of `other`, which lists the rest as before.
fn resource_items(scope: &Scope, resources: &[Resource]) -> String {
    resources
        .iter()
        .map(|r| {
            let asked: Vec<&str> = scope
                .iter()
                .filter(|s| r.scopes.iter().any(|x| x == s))
                .collect();
            let what = if asked.is_empty() {
                "<li>act for you, with no specific permission</li>".to_string()
            } else {
                asked
                    .iter()
                    .map(|s| {
                        let words = r
                            .scope_descriptions
                            .get(*s)
                            .map(String::as_str)
                            .unwrap_or("a permission defined by this service");
                        format!("<li><strong>{}</strong>: {}</li>", escape(s), escape(words))
                    })
                    .collect()
            };
            format!(
                "<li>Use <strong>{}</strong> (<code>{}</code>) on your behalf, to:<ul>{what}</ul></li>",
                escape(r.display_name()),
                escape(&r.identifier)
            )
        })
        .collect()
}

/// The note under a dynamically registered client's name: unverified, and where it
/// sends the user (the redirect URI's host).
fn unverified_note(redirect_uri: &str) -> String {
    let host = url::Url::parse(redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| redirect_uri.to_string());
    format!(
        "<p class=\"error\">This application was registered dynamically (unverified): its name \
         was chosen by whoever registered it. After this page you will be sent to \
         <strong>{}</strong>.</p>",
        escape(&host)
    )
}

fn render(
    st: &AppState,
    r: &AuthRequest,
    h: &str,
    headers: &HeaderMap,
    client_name: &str,
    dynamically_registered: bool,
    resources: &[Resource],
) -> Response {
    let (csrf_c, new) = csrf_cookie(st, headers);
    let csrf = handle::csrf_token(st, &csrf_c, h);
    // Scopes of a requested resource are described under it; the rest as before.
    let other = Scope::from_tokens(r.scope.iter().filter(|s| {
        !resources
            .iter()
            .any(|res| res.scopes.iter().any(|x| x == s))
    }));
    let items = scope_items(&other) + &resource_items(&r.scope, resources);
    let note = if dynamically_registered {
        unverified_note(&r.redirect_uri)
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Allow access?</h1><p><strong>{}</strong> asks to:</p>{note}<ul>{items}</ul>\
         <form method=\"post\" action=\"/consent\">\
         <input type=\"hidden\" name=\"req\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        escape(client_name),
        escape(h),
        escape(&csrf),
    );
    let mut resp = page(StatusCode::OK, "Allow access?", &body);
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

pub async fn get(
    State(st): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> PageResult {
    let (r, h) = request_from_query(&st, q)?;
    if r.account {
        // A sign-in for the account page asks no consent.
        return Ok(super::authorize::redirect("/account"));
    }
    let session = current_session(&st, &headers).await?;
    // prompt=login and max_age cannot be skipped by coming here directly.
    if needs_login(&r, session.as_ref(), st.clock.now()) {
        return Ok(to_login(&h));
    }
    let (name, dynamic) = match st.store.get_client(&r.client_id).await {
        Ok(Some(c)) => (c.display_name().to_string(), c.dynamically_registered),
        // Unknown here: the POST refuses it; say nothing trusting meanwhile.
        _ => (r.client_id.clone(), true),
    };
    let mut resources = Vec::with_capacity(r.resources.len());
    for id in &r.resources {
        // One deleted since /authorize is refused when the code is issued; shown by
        // its identifier meanwhile.
        resources.push(match st.store.get_resource(id).await? {
            Some(res) => res,
            None => Resource {
                identifier: id.clone(),
                name: None,
                scopes: vec![],
                scope_descriptions: Default::default(),
                access_token_format: None,
                access_token_lifetime: None,
                signing_alg: None,
                claims: vec![],
                active: false,
                created_at: st.clock.now(),
                managed_by: Default::default(),
            },
        });
    }
    Ok(render(&st, &r, &h, &headers, &name, dynamic, &resources))
}

pub async fn post(
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let f = html::read_form(&headers, &body)?;
    let now = st.clock.now();
    let expired = || PageError::BadRequest("This request has expired; start again.".into());
    let h = f.get("req").ok_or_else(expired)?;
    let r = handle::open(&st, h, now).ok_or_else(expired)?;
    if !handle::csrf_ok(
        &st,
        handle::csrf_cookie_value(&st, &headers).as_deref(),
        h,
        f.get("csrf"),
    ) {
        return Err(PageError::Csrf);
    }
    if r.account {
        return Ok(super::authorize::redirect("/account"));
    }
    let session = current_session(&st, &headers).await?;
    let Some(session) = session.filter(|s| !needs_login(&r, Some(s), now)) else {
        return Ok(to_login(h));
    };
    // Checked before anything is recorded or sent (issue_code checks again).
    super::authorize::client_still_allows(&st, &r).await?;
    let consent = Consent {
        scopes: r.scope.iter().map(str::to_string).collect(),
        resources: r.resources.clone(),
    };
    match f.get("decision") {
        Some("allow") => {
            st.store
                .add_consent(&session.subject, &r.client_id, &consent)
                .await?;
            let ev = event(
                EventKind::ConsentGranted,
                now,
                &caller,
                Some(&r.client_id),
                Some(&session.subject),
                None,
                serde_json::json!({"scope": r.scope, "resources": r.resources}),
            );
            crate::best_effort::record_event(&st, ev).await;
            issue_code(&st, &r, &session, &caller).await
        }
        Some("deny") => {
            let ev = event(
                EventKind::ConsentDenied,
                now,
                &caller,
                Some(&r.client_id),
                Some(&session.subject),
                None,
                serde_json::json!({"scope": r.scope}),
            );
            crate::best_effort::record_event(&st, ev).await;
            let err = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            Err(PageError::to_client(
                &r.redirect_uri,
                r.state.as_deref(),
                &st.cfg.issuer,
                &err,
            ))
        }
        _ => Err(PageError::BadRequest("Choose Allow or Deny.".into())),
    }
}
