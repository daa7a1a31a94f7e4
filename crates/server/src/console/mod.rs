//! The operator console (`/console`): server-rendered HTML pages for administrators,
//! in the style of the other pages (`crate::pages`), no script needed. Every action
//! calls the admin operations (`crate::admin::ops`), the same ones the admin API and
//! the CLI call, with the signed-in administrator as the event's actor.
//!
//! # Building a console page
//!
//! - Take [`Admin`] as an extractor: it answers for you when the request may not see
//!   the console (no session: to `/login`, which returns to the page; a signed-in user
//!   without `admin`: 403; no admin user exists at all: a page saying how to make one).
//! - Render with [`layout`] (the page with the console's navigation; `Nav` marks the
//!   current section), or [`layout_refused`] for a page shown with an error status.
//! - Every form: `method="post"`, with [`Admin::csrf_field`] inside. A POST handler
//!   reads its body with [`read_form`], which refuses (403, nothing done) a form whose
//!   CSRF token is missing or wrong, then calls an op with [`Admin::caller`].
//! - An op's failure: [`op_failed`] (the page with the message, and the admin API's
//!   status for it: 400, 404, 409, 503).
//! - Lists: [`paging::Query`] reads `?q=…&after=…`, [`paging::scan`] pages through a
//!   store listing with a filter, [`paging::pager`] renders the search form and the
//!   "next page" link.
//!
//! Escape everything shown with [`escape`]; build URLs of ids with [`path_segment`]
//! and query values with [`query_value`]; put tables in [`table_box`] (they scroll
//! inside it on a phone).

mod client_form;
pub mod clients;
pub mod dashboard;
pub mod events;
pub mod grants;
pub mod keys;
pub mod paging;
mod settings_form;
pub mod users;

use crate::caller::{Actor, Caller};
use crate::http::error::{PageError, PageRefusal, PageResult};
use crate::http::form::Form;
use crate::pages::handle;
use crate::state::{AppState, Shared};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use baton_core::model::{Session, User};

pub use crate::pages::html::escape;

/// The `/console` routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/console", get(dashboard::get))
        .route("/console/clients", get(clients::list))
        .route(
            "/console/clients/new",
            get(clients::new_form).post(clients::create),
        )
        .route(
            "/console/clients/{client_id}",
            get(clients::edit_form).post(clients::update),
        )
        .route(
            "/console/clients/{client_id}/refresh",
            axum::routing::post(clients::update_refresh),
        )
        .route(
            "/console/clients/{client_id}/secret",
            axum::routing::post(clients::reset_secret),
        )
        .route(
            "/console/clients/{client_id}/delete",
            get(clients::delete_form).post(clients::delete),
        )
        .route("/console/users", get(users::list))
        .route("/console/users/{username}", get(users::show))
        .route(
            "/console/users/{username}/active",
            axum::routing::post(users::set_active),
        )
        .route(
            "/console/users/{username}/sessions/end",
            axum::routing::post(users::end_session),
        )
        .route(
            "/console/users/{username}/grants/revoke",
            axum::routing::post(users::revoke_grant),
        )
        .route(
            "/console/users/{username}/grants/revoke-all",
            axum::routing::post(users::revoke_all),
        )
        .route(
            "/console/users/{username}/consents/revoke",
            axum::routing::post(users::revoke_consent),
        )
        .route("/console/grants/{id}", get(grants::show))
        .route("/console/events", get(events::list))
        .route("/console/keys", get(keys::get))
        .route("/console/keys/rotate", axum::routing::post(keys::rotate))
        .route(
            "/console/settings",
            axum::routing::post(keys::update_settings),
        )
}

/// The console's sections, in the order of its navigation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Clients,
    Users,
    Events,
    Keys,
}

impl Nav {
    const ALL: [Nav; 5] = [
        Nav::Dashboard,
        Nav::Clients,
        Nav::Users,
        Nav::Events,
        Nav::Keys,
    ];

    /// The section's page.
    pub fn href(self) -> &'static str {
        match self {
            Nav::Dashboard => "/console",
            Nav::Clients => "/console/clients",
            Nav::Users => "/console/users",
            Nav::Events => "/console/events",
            Nav::Keys => "/console/keys",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Nav::Dashboard => "Dashboard",
            Nav::Clients => "Clients",
            Nav::Users => "Users",
            Nav::Events => "Events",
            Nav::Keys => "Keys & settings",
        }
    }
}

/// A signed-in administrator: a live session of a user with `admin` who is active.
/// As an extractor it answers every other request itself (see the module docs).
pub struct Admin {
    pub user: User,
    pub session: Session,
    /// The browser's CSRF cookie (`pages::handle`), or a new one [`layout`] sets.
    csrf_cookie: String,
    new_csrf_cookie: bool,
}

impl Admin {
    /// The caller of an op: where the request came from, and this administrator as
    /// the actor its events record.
    pub fn caller(&self, mut c: Caller) -> Caller {
        c.actor = Some(Actor::ConsoleAdmin {
            sub: self.user.sub.clone(),
            username: self.user.username.clone(),
        });
        c
    }

    /// What the console's CSRF tokens are bound to besides the browser's cookie: the
    /// session, so that a token dies with it.
    fn csrf_binding(&self) -> String {
        format!("console:{}", self.session.id)
    }

    /// This browser's CSRF token for console forms.
    pub fn csrf_token(&self, st: &AppState) -> String {
        handle::csrf_token(st, &self.csrf_cookie, &self.csrf_binding())
    }

    /// The hidden input every console form carries.
    pub fn csrf_field(&self, st: &AppState) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(&self.csrf_token(st))
        )
    }

    /// Whether the form's `csrf` verifies against this browser's cookie and session.
    fn csrf_ok(&self, st: &AppState, headers: &HeaderMap, f: &Form) -> bool {
        !self.new_csrf_cookie
            && handle::csrf_ok(
                st,
                handle::csrf_cookie_value(st, headers).as_deref(),
                &self.csrf_binding(),
                f.get("csrf"),
            )
    }
}

/// Reads a posted console form: the content type and body as strictly as every page,
/// then the CSRF token (missing or wrong: 403, and the handler does nothing).
pub fn read_form(
    st: &AppState,
    admin: &Admin,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Form, PageError> {
    let f = crate::pages::html::read_form(headers, body)?;
    if !admin.csrf_ok(st, headers, &f) {
        return Err(PageError::Csrf);
    }
    Ok(f)
}

/// Refuses (400, nothing done) a posted form with a field that is not `csrf` or one
/// of the `known` lists.
pub fn only_fields(f: &Form, known: &[&[&str]]) -> Result<(), PageError> {
    match f
        .names()
        .find(|n| *n != "csrf" && !known.iter().any(|k| k.contains(n)))
    {
        Some(n) => Err(PageError::BadRequest(
            format!(
                "The form has a field this page does not know: `{}`.",
                n.chars().take(64).collect::<String>()
            )
            .into(),
        )),
        None => Ok(()),
    }
}

impl FromRequestParts<Shared> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Shared) -> Result<Self, Response> {
        // After signing in, back to the page asked for; a form's target is no page to
        // return to (its POST is not repeated), so the dashboard then.
        let here = match parts.method {
            axum::http::Method::GET => parts
                .uri
                .path_and_query()
                .map_or("/console", |p| p.as_str())
                .to_string(),
            _ => "/console".to_string(),
        };
        require_admin(st, &parts.headers, &here).await
    }
}

/// The signed-in administrator, or the response for anyone else: no session -> 303 to
/// the sign-in page, which returns to `here`; signed in without `admin` (or disabled)
/// -> 403; and while no user has `admin`, a page saying how to make one (404).
pub async fn require_admin(
    st: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Admin, Response> {
    match gate(st, headers).await {
        Ok(Some(admin)) => Ok(admin),
        Ok(None) => {
            let back = if here.len() <= 1024 { here } else { "/console" };
            Err(crate::pages::account::sign_in_then(st, Some(back)))
        }
        Err(e) => Err(e.into_response()),
    }
}

/// The administrator; `None`: nobody is signed in (and an admin exists).
async fn gate(st: &AppState, headers: &HeaderMap) -> Result<Option<Admin>, PageError> {
    let session = crate::pages::authorize::current_session(st, headers).await?;
    let Some(session) = session else {
        if !st.store.any_admin().await? {
            return Err(not_enabled());
        }
        return Ok(None);
    };
    let user = st.store.get_user_by_sub(&session.subject).await?;
    match user {
        Some(u) if u.admin && u.active => {
            let (csrf_cookie, new_csrf_cookie) = crate::pages::login::csrf_cookie(st, headers);
            Ok(Some(Admin {
                user: u,
                session,
                csrf_cookie,
                new_csrf_cookie,
            }))
        }
        _ if !st.store.any_admin().await? => Err(not_enabled()),
        u => Err(forbidden(u.as_ref())),
    }
}

/// The page while no user has `admin`: how to make one.
fn not_enabled() -> PageError {
    let body = "<main id=\"main\"><h1>The operator console is not enabled</h1>\
        <p>The console opens to users who have the <code>admin</code> attribute, and no user has it yet. \
        Give it to one of them in any of these ways, then sign in here with that user:</p><ul>\
        <li>in the configuration file: <code>admin = true</code> in the user's <code>[[users]]</code> entry (applied at the next start);</li>\
        <li>with the CLI: <code>baton user update NAME --admin true</code> (or <code>baton user create NAME --admin --password-stdin</code>);</li>\
        <li>with the admin API: <code>PATCH /admin/users/NAME</code> with <code>{\"admin\": true}</code>.</li></ul></main>";
    PageError::refused(
        crate::pages::html::styled_page(StatusCode::OK, "Operator console", STYLE, body),
        PageRefusal::NotFound,
    )
}

fn forbidden(u: Option<&User>) -> PageError {
    let who = u.map_or(String::new(), |u| {
        format!(
            " You are signed in as <strong>{}</strong>.",
            escape(&u.username)
        )
    });
    let body = format!(
        "<main id=\"main\"><h1>Not an administrator</h1>\
         <p>The operator console is for administrators only.{who} \
         An administrator can give your account access (the <code>admin</code> attribute).</p>\
         <p><a href=\"/logout\">Sign out</a> to sign in as someone else.</p></main>"
    );
    PageError::refused(
        crate::pages::html::styled_page(StatusCode::OK, "Not an administrator", STYLE, &body),
        PageRefusal::Forbidden,
    )
}

/// The console's style sheet: readable on a phone (one column, tables scroll sideways
/// in their box), a visible focus ring for the keyboard, contrast above 4.5:1.
const STYLE: &str = "\
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa;line-height:1.45}\
a{color:#0b57d0}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:.5rem;top:.5rem;background:#fff;padding:.5rem;z-index:2}\
header{background:#1f2937;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem}\
header .brand{font-weight:700;color:#fff;text-decoration:none}\
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}\
header nav a{color:#e5e7eb;text-decoration:none;padding:.25rem 0;display:inline-block}header nav a[aria-current=page]{color:#fff;border-bottom:3px solid #93c5fd}\
header .who{margin-left:auto;font-size:.9rem;color:#e5e7eb}header .who a{color:#bfdbfe}\
main{max-width:64rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}\
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d1d5db;vertical-align:top}\
th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}\
label{display:block;margin:.8rem 0 .2rem;font-weight:600}.hint{font-size:.9rem;color:#4b5563;margin:.1rem 0}\
input[type=text],input[type=number],input[type=search],select,textarea{width:100%;max-width:32rem;padding:.45rem;border:1px solid #6b7280;border-radius:4px;font:inherit;background:#fff}\
textarea{min-height:4.5rem}fieldset{border:1px solid #d1d5db;border-radius:6px;margin:1rem 0;padding:.5rem 1rem 1rem;background:#fff}legend{font-weight:700;padding:0 .3rem}\
.check{display:flex;gap:.5rem;align-items:center;margin:.4rem 0;font-weight:400}.check input{width:auto}\
button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem;border:1px solid #0b57d0;background:#0b57d0;color:#fff;border-radius:4px;font:inherit;cursor:pointer}\
button.secondary{background:#fff;color:#0b57d0}button.danger{background:#b91c1c;border-color:#b91c1c}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:1rem}.card{background:#fff;border:1px solid #d1d5db;border-radius:6px;padding:.8rem 1rem}\
.card .n{font-size:1.8rem;font-weight:700;display:block}.error{color:#a00000}.notice{background:#ecfdf5;border:1px solid #047857;padding:.6rem 1rem;border-radius:6px}\
.alert{background:#fef2f2;border:1px solid #b91c1c;padding:.6rem 1rem;border-radius:6px}.secret{font-family:ui-monospace,monospace;font-size:1.05rem;word-break:break-all;background:#fff;border:1px dashed #374151;padding:.6rem}\
.badge{display:inline-block;font-size:.8rem;padding:0 .4rem;border-radius:3px;background:#e5e7eb;color:#111827}.badge.warn{background:#fef3c7;color:#78350f}\
.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}.search label{margin:0}.search button{margin:0}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}\
ol.timeline{list-style:none;padding:0;margin:0;border-left:3px solid #d1d5db}ol.timeline li{margin:0 0 .8rem;padding:.3rem .8rem;background:#fff}ol.timeline li p{margin:.15rem 0}\
ol.timeline li.reuse,tr.reuse td{background:#fef2f2}ol.timeline li.reuse{border-left:6px solid #b91c1c;margin-left:-3px}tr.reuse td:first-child{border-left:6px solid #b91c1c}\
code.details{font-size:.8rem;overflow-wrap:anywhere}\
@media (max-width:40rem){dl.facts{grid-template-columns:1fr}}\
@media (max-width:40rem){header .who{margin-left:0;width:100%}main{padding:.75rem}}";

/// A console page: the navigation (with `nav` current), the administrator, `body` as
/// the page's main content; sets the CSRF cookie when the browser had none.
pub fn layout(st: &AppState, admin: &Admin, nav: Nav, title: &str, body: &str) -> Response {
    page_with(st, admin, StatusCode::OK, nav, title, body)
}

/// A console page shown with the status `why` implies (a form again with its error).
pub fn layout_refused(
    st: &AppState,
    admin: &Admin,
    nav: Nav,
    title: &str,
    body: &str,
    why: PageRefusal,
) -> PageError {
    PageError::refused(page_with(st, admin, StatusCode::OK, nav, title, body), why)
}

/// An op's failure on a console page: `body_before` (e.g. the form again) under the
/// error message, with the status the admin API answers for it.
pub fn op_failed(
    st: &AppState,
    admin: &Admin,
    nav: Nav,
    title: &str,
    e: &crate::admin::AdminError,
    body_after: &str,
) -> PageError {
    let why = PageRefusal::of_admin(e);
    let msg = match e {
        // Details of an internal failure were logged by the op; never shown.
        crate::admin::AdminError::Internal(_) => {
            "Something went wrong; nothing was changed.".to_string()
        }
        crate::admin::AdminError::Store(_) => {
            "The store is unavailable; nothing was changed. Try again.".to_string()
        }
        e => e.to_string(),
    };
    let body = format!(
        "<p class=\"alert\" role=\"alert\">{}</p>{body_after}",
        escape(&msg)
    );
    layout_refused(st, admin, nav, title, &body, why)
}

fn page_with(
    st: &AppState,
    admin: &Admin,
    status: StatusCode,
    nav: Nav,
    title: &str,
    body: &str,
) -> Response {
    let links: String = Nav::ALL
        .iter()
        .map(|n| {
            let current = if *n == nav {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!(
                "<li><a href=\"{}\"{current}>{}</a></li>",
                n.href(),
                escape(n.label())
            )
        })
        .collect();
    let html = format!(
        "<a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><a class=\"brand\" href=\"/console\">Baton console</a>\
         <nav aria-label=\"Console\"><ul>{links}</ul></nav>\
         <p class=\"who\">Signed in as <strong>{}</strong> · <a href=\"/logout\">Sign out</a></p></header>\
         <main id=\"main\"><h1>{}</h1>{body}</main>",
        escape(&admin.user.username),
        escape(title),
    );
    let mut resp =
        crate::pages::html::styled_page(status, &format!("{title} · Baton console"), STYLE, &html);
    if admin.new_csrf_cookie {
        if let Ok(v) = HeaderValue::from_str(&handle::set_cookie(
            st,
            handle::csrf_cookie_name(st),
            &admin.csrf_cookie,
            None,
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// A table in a box that scrolls sideways on a narrow screen (the page itself never
/// does); the box is named and focusable, so a keyboard can scroll it too.
pub fn table_box(label: &str, table: &str) -> String {
    format!(
        "<div class=\"table\" role=\"region\" aria-label=\"{}\" tabindex=\"0\">{table}</div>",
        escape(label)
    )
}

/// 303 to another console page (after a change: the list, the edited item).
pub fn see_other(location: &str) -> PageResult {
    Ok(crate::pages::authorize::redirect(location))
}

/// `s` as one URL path segment (an id in a link): everything but unreserved
/// characters percent-encoded.
pub fn path_segment(s: &str) -> String {
    if s == "." || s == ".." {
        // A dot segment would be resolved away by the browser.
        return s.replace('.', "%2E");
    }
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// `s` as a query-string value.
pub fn query_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(path_segment("web-app_1.x~"), "web-app_1.x~");
        assert_eq!(path_segment("a/b c?d#é"), "a%2Fb%20c%3Fd%23%C3%A9");
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(path_segment("a..b"), "a..b");
    }
}
