//! The console's users: a searchable, paged list, and a user's page: disable or enable,
//! their live sessions (end one), their grants (revoke one or all; each links to its
//! timeline) and their consents (withdraw one). Every change is a POST with the CSRF
//! token and goes through `admin::ops` with the signed-in administrator as actor.

use super::grants::when;
use super::paging::{self, Query, PAGE_SIZE};
use super::{
    escape, layout, only_fields, op_failed, path_segment, query_value, read_form, see_other, Admin,
    Nav,
};
use crate::admin::ops;
use crate::caller::Caller;
use crate::http::error::{PageError, PageResult};
use crate::http::Body;
use crate::state::{AppState, Shared};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use baton_core::model::{GrantId, ManagedBy, User};
use baton_proto::admin::{GrantListQuery, RevocationRequest, UserPatch};

/// How many of a user's grants their page shows at once.
const GRANTS_SHOWN: usize = 50;

fn path_name(p: Result<Path<String>, PathRejection>) -> Result<String, PageError> {
    p.map(|Path(n)| n)
        .map_err(|_| PageError::BadRequest("The username in the address is not valid.".into()))
}

/// A user's console page.
pub fn user_path(username: &str) -> String {
    format!("/console/users/{}", path_segment(username))
}

/// A grant's timeline page.
pub fn grant_path(id: &str) -> String {
    format!("/console/grants/{}", path_segment(id))
}

/// A client's console page.
pub fn client_path(id: &str) -> String {
    format!("/console/clients/{}", path_segment(id))
}

async fn the_user(st: &AppState, username: &str) -> Result<User, PageError> {
    st.store
        .get_user(username)
        .await?
        .ok_or(PageError::NotFound("No such user."))
}

/// `GET /console/users?q=&after=`: users in username order, searched by username or `sub`.
pub async fn list(admin: Admin, State(st): State<Shared>, RawQuery(raw): RawQuery) -> PageResult {
    let (q, _) = Query::parse(raw.as_deref(), &[])?;
    let page = paging::scan(
        |after, n| {
            let store = st.store.clone();
            async move { store.list_users_page(after.as_deref(), n).await }
        },
        |u: &User| u.username.clone(),
        |u| q.matches(&[&u.username, &u.sub]),
        q.after.clone(),
        PAGE_SIZE,
    )
    .await?;
    let rows: String = page
        .items
        .iter()
        .map(|u| {
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&user_path(&u.username)),
                escape(&u.username),
                escape(&u.sub),
                if u.active { "yes" } else { "<span class=\"badge warn\">disabled</span>" },
                if u.admin { "yes" } else { "no" },
                managed(u.managed_by),
            )
        })
        .collect();
    let table = if page.items.is_empty() {
        if q.q.is_empty() {
            "<p>No users yet.</p>".to_string()
        } else {
            format!("<p>No user matches “{}”.</p>", escape(&q.q))
        }
    } else {
        super::table_box(
            "Users",
            &format!(
            "<table><caption class=\"hint\">Users{}</caption><thead><tr>\
             <th scope=\"col\">Username</th><th scope=\"col\">Subject (sub)</th><th scope=\"col\">Active</th>\
             <th scope=\"col\">Admin</th><th scope=\"col\">Managed by</th></tr></thead><tbody>{rows}</tbody></table>",
            if q.q.is_empty() {
                String::new()
            } else {
                format!(" matching “{}”", escape(&q.q))
            }
        ),
        )
    };
    let body = format!(
        "{}{table}{}",
        paging::search_form("/console/users", "users (username or sub)", &q),
        paging::pager("/console/users", &q, page.next.as_deref(), &[]),
    );
    Ok(layout(&st, &admin, Nav::Users, "Users", &body))
}

fn managed(m: ManagedBy) -> &'static str {
    match m {
        ManagedBy::Config => "<span class=\"badge warn\">configuration file (read-only)</span>",
        ManagedBy::Api => "<span class=\"badge\">console / API</span>",
    }
}

/// What a finished change says on the user's page (`?done=`).
fn notice(done: Option<&str>) -> &'static str {
    match done {
        Some("disabled") => {
            "The user is disabled: they cannot sign in or refresh, and their sessions were ended."
        }
        Some("enabled") => "The user is enabled again.",
        Some("session") => "The session was ended; its online grants were revoked.",
        Some("grant") => "The grant was revoked.",
        Some("grants") => "Every grant of the user was revoked.",
        Some("consent") => {
            "The consent was withdrawn, and the user's grants of that client were revoked."
        }
        _ => "",
    }
}

/// `GET /console/users/{username}`: the user, their sessions, grants and consents.
pub async fn show(
    admin: Admin,
    State(st): State<Shared>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let name = path_name(name)?;
    let f = crate::http::form::parse(raw.unwrap_or_default().as_bytes())
        .map_err(|e| PageError::BadRequest(e.description.into()))?;
    if let Some(k) = f.names().find(|k| !["done", "grants_after"].contains(k)) {
        return Err(PageError::BadRequest(
            format!(
                "The address has a parameter this page does not know: `{}`.",
                k.chars().take(64).collect::<String>()
            )
            .into(),
        ));
    }
    let u = the_user(&st, &name).await?;
    let grants_after = f.get("grants_after").map(str::to_string);
    let grants = match ops::list_grants(
        &st,
        GrantListQuery {
            subject: Some(u.sub.clone()),
            cursor: grants_after.clone(),
            limit: Some(GRANTS_SHOWN),
            ..Default::default()
        },
    )
    .await
    {
        Ok(g) => g,
        Err(e) => return Err(op_failed(&st, &admin, Nav::Users, &u.username, &e, "")),
    };
    let sessions = ops::user_sessions(&st, &u.sub).await;
    let consents = ops::user_consents(&st, &u.sub).await;
    let (sessions, consents) = match (sessions, consents) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => {
            return Err(op_failed(&st, &admin, Nav::Users, &u.username, &e, ""))
        }
    };
    let csrf = admin.csrf_field(&st);
    let here = user_path(&u.username);
    let post = |what: &str, field: &str, value: &str, label: &str, class: &str| {
        format!(
            "<form method=\"post\" action=\"{}/{what}\">{csrf}\
             <input type=\"hidden\" name=\"{field}\" value=\"{}\">\
             <button type=\"submit\" class=\"{class}\">{label}</button></form>",
            escape(&here),
            escape(value),
        )
    };
    let notice = match notice(f.get("done")) {
        "" => String::new(),
        n => format!("<p class=\"notice\" role=\"status\">{n}</p>"),
    };
    let read_only = u.managed_by == ManagedBy::Config;
    let status_form = if read_only {
        "<p class=\"hint\">This user is defined in the configuration file: disable or enable them there.</p>".to_string()
    } else if u.active {
        post("active", "active", "false", "Disable user", "danger")
    } else {
        post("active", "active", "true", "Enable user", "")
    };
    let summary = format!(
        "{notice}<dl class=\"facts\"><dt>Subject (sub)</dt><dd><code>{}</code></dd>\
         <dt>Status</dt><dd>{}</dd><dt>Administrator</dt><dd>{}</dd>\
         <dt>Roles</dt><dd>{}</dd><dt>Groups</dt><dd>{}</dd><dt>Managed by</dt><dd>{}</dd></dl>\
         {status_form}<p><a href=\"/console/events?user={}\">Events of this user</a></p>",
        escape(&u.sub),
        if u.active {
            "active"
        } else {
            "<span class=\"badge warn\">disabled</span>"
        },
        if u.admin { "yes" } else { "no" },
        escape(&u.roles.join(", ")),
        escape(&u.groups.join(", ")),
        managed(u.managed_by),
        query_value(&u.sub),
    );

    let session_rows: String = sessions
        .iter()
        .map(|s| {
            format!(
                "<tr id=\"session-{0}\"><td><code>{0}</code></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
                escape(&s.id),
                when(s.auth_time),
                when(s.last_seen_at),
                when(s.expires_at),
                post("sessions/end", "session_id", &s.id, "End session", "secondary"),
            )
        })
        .collect();
    let sessions_html = if sessions.is_empty() {
        "<p>No live session.</p>".to_string()
    } else {
        super::table_box(
            "Live browser sessions",
            &format!(
            "<table><caption class=\"hint\">Live browser sessions</caption><thead><tr>\
             <th scope=\"col\">Session (sid)</th><th scope=\"col\">Signed in</th><th scope=\"col\">Last seen</th>\
             <th scope=\"col\">Expires</th><th scope=\"col\">Action</th></tr></thead><tbody>{session_rows}</tbody></table>"
        ),
        )
    };

    let grant_rows: String = grants
        .items
        .iter()
        .map(|g| {
            let action = if g.status == "active" {
                post("grants/revoke", "grant_id", &g.grant_id, "Revoke", "secondary")
            } else {
                String::new()
            };
            let status = match &g.revoked_reason {
                Some(r) => format!("revoked <span class=\"hint\">({})</span>", escape(r)),
                None => escape(&g.status),
            };
            format!(
                "<tr><td><a href=\"{}\"><code>{}</code></a></td><td><a href=\"{}\">{}</a></td><td>{}</td>\
                 <td>{status}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                escape(&grant_path(&g.grant_id)),
                escape(&g.grant_id),
                escape(&client_path(&g.client_id)),
                escape(&g.client_id),
                escape(&g.scope),
                g.generation,
                escape(&g.created_at),
                escape(&g.last_used_at),
                escape(g.expires_at.as_deref().unwrap_or("never")),
            )
        })
        .collect();
    let any_active = grants.items.iter().any(|g| g.status == "active");
    let more = grants
        .next_cursor
        .as_deref()
        .map(|c| {
            format!(
                "<nav aria-label=\"Grant pages\"><p><a href=\"{}\">More grants</a></p></nav>",
                escape(&format!("{here}?grants_after={}", query_value(c)))
            )
        })
        .unwrap_or_default();
    let grants_html = if grants.items.is_empty() {
        "<p>No grants.</p>".to_string()
    } else {
        format!(
            "{}{more}{}",
            super::table_box(
                "Grants",
                &format!(
            "<table><caption class=\"hint\">Grants, newest first; each links to its timeline</caption><thead><tr>\
             <th scope=\"col\">Grant</th><th scope=\"col\">Client</th><th scope=\"col\">Scope</th><th scope=\"col\">Status</th>\
             <th scope=\"col\">Generation</th><th scope=\"col\">Created</th><th scope=\"col\">Last used</th>\
             <th scope=\"col\">Expires</th><th scope=\"col\">Action</th></tr></thead><tbody>{grant_rows}</tbody></table>"
                ),
            ),
            if any_active || grants_after.is_some() {
                format!(
                    "<form method=\"post\" action=\"{}/grants/revoke-all\">{csrf}\
                     <button type=\"submit\" class=\"danger\">Revoke all grants of this user</button></form>",
                    escape(&here)
                )
            } else {
                String::new()
            }
        )
    };

    let consent_rows: String = consents
        .iter()
        .map(|(client, c)| {
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&client_path(client)),
                escape(client),
                escape(&c.scopes.join(" ")),
                escape(&c.resources.join(" ")),
                post(
                    "consents/revoke",
                    "client_id",
                    client,
                    "Withdraw consent",
                    "secondary"
                ),
            )
        })
        .collect();
    let consents_html = if consents.is_empty() {
        "<p>No consents.</p>".to_string()
    } else {
        format!(
            "{}<p class=\"hint\">Withdrawing a consent also revokes the user's grants of that client: it must ask again.</p>",
            super::table_box(
                "Consents",
                &format!(
            "<table><caption class=\"hint\">What the user consented to, per client</caption><thead><tr>\
             <th scope=\"col\">Client</th><th scope=\"col\">Scopes</th><th scope=\"col\">Resources</th>\
             <th scope=\"col\">Action</th></tr></thead><tbody>{consent_rows}</tbody></table>"
                ),
            ),
        )
    };
    let body = format!(
        "{summary}<h2 id=\"sessions\">Sessions</h2>{sessions_html}\
         <h2 id=\"grants\">Grants</h2>{grants_html}<h2 id=\"consents\">Consents</h2>{consents_html}"
    );
    Ok(layout(
        &st,
        &admin,
        Nav::Users,
        &format!("User {}", u.username),
        &body,
    ))
}

/// The back link under an op's error on a user's page.
fn back(username: &str) -> String {
    format!(
        "<p><a href=\"{}\">Back to the user</a></p>",
        escape(&user_path(username))
    )
}

/// A posted form of a user's page: the user, the form (CSRF checked, only `fields`).
async fn posted(
    st: &AppState,
    admin: &Admin,
    name: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: &[u8],
    fields: &[&str],
) -> Result<(User, crate::http::form::Form), PageError> {
    let name = path_name(name)?;
    let f = read_form(st, admin, headers, body)?;
    only_fields(&f, &[fields])?;
    let u = the_user(st, &name).await?;
    Ok((u, f))
}

fn required<'f>(f: &'f crate::http::form::Form, field: &str) -> Result<&'f str, PageError> {
    f.get(field)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PageError::BadRequest(format!("The form lacks `{field}`.").into()))
}

/// An action's answer: back to the user's page saying `what` was done, or the
/// operation's refusal with a link back.
fn done<T>(
    st: &AppState,
    admin: &Admin,
    u: &User,
    what: &str,
    r: crate::admin::AdminResult<T>,
) -> PageResult {
    match r {
        Ok(_) => see_other(&format!("{}?done={what}", user_path(&u.username))),
        Err(e) => Err(op_failed(
            st,
            admin,
            Nav::Users,
            &u.username,
            &e,
            &back(&u.username),
        )),
    }
}

/// `POST /console/users/{username}/active`: `active=false` disables (their sessions
/// end), `active=true` enables.
pub async fn set_active(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let (u, f) = posted(&st, &admin, name, &headers, &body, &["active"]).await?;
    let active = match required(&f, "active")? {
        "true" => true,
        "false" => false,
        _ => {
            return Err(PageError::BadRequest(
                "`active` is `true` or `false`.".into(),
            ))
        }
    };
    let patch = UserPatch {
        active: Some(active),
        ..Default::default()
    };
    let r = ops::patch_user(&st, &u.username, patch, &admin.caller(caller)).await;
    done(
        &st,
        &admin,
        &u,
        if active { "enabled" } else { "disabled" },
        r,
    )
}

/// `POST /console/users/{username}/sessions/end` with `session_id`.
pub async fn end_session(
    admin: Admin,
    caller: Caller,
    State(st): State<Shared>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let (u, f) = posted(&st, &admin, name, &headers, &body, &["session_id"]).await?;
    let sid = required(&f, "session_id")?;
    let r = ops::end_session(&st, &u.sub, sid, &admin.caller(caller)).await;
    done(&st, &admin, &u, "session", r)
}

/// `POST /console/users/{username}/grants/revoke` with `grant_id`: one of their grants.
pub async fn revoke_grant(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let (u, f) = posted(&st, &admin, name, &headers, &body, &["grant_id"]).await?;
    let id = GrantId::parse(required(&f, "grant_id")?)
        .ok_or_else(|| PageError::BadRequest("`grant_id` is not a grant id.".into()))?;
    let r = ops::revoke_user_grant(&st, &u.sub, id, &admin.caller(caller)).await;
    done(&st, &admin, &u, "grant", r)
}

/// `POST /console/users/{username}/grants/revoke-all`: every grant of the user.
pub async fn revoke_all(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let (u, _) = posted(&st, &admin, name, &headers, &body, &[]).await?;
    let req = RevocationRequest {
        subject: Some(u.sub.clone()),
        client_id: None,
        grant_id: None,
    };
    let r = ops::revoke(&st, req, &admin.caller(caller)).await;
    done(&st, &admin, &u, "grants", r)
}

/// `POST /console/users/{username}/consents/revoke` with `client_id`.
pub async fn revoke_consent(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let (u, f) = posted(&st, &admin, name, &headers, &body, &["client_id"]).await?;
    let client = required(&f, "client_id")?;
    let r = ops::revoke_consent(&st, &u.sub, client, &admin.caller(caller)).await;
    done(&st, &admin, &u, "consent", r)
}
