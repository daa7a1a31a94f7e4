//! The console's grant timeline (`/console/grants/{id}`): what happened to one grant,
//! in order (`crate::timeline`), reuse detections highlighted, with links to its user,
//! client and session.

use super::users::{client_path, user_path};
use super::{escape, layout, op_failed, query_value, Admin, Nav};
use crate::admin::ops::{self, GrantTimeline};
use crate::http::error::{PageError, PageResult};
use crate::state::Shared;
use crate::timeline::{reason_text, Entry, What};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use baton_core::model::GrantId;
use baton_core::time::Timestamp;

/// A time as the console shows it: `<time>` with the exact instant, read as UTC.
pub fn when(t: Timestamp) -> String {
    let s = t.rfc3339();
    let shown = match (s.get(0..10), s.get(11..19)) {
        (Some(d), Some(hms)) => format!("{d} {hms} UTC"),
        _ => s.clone(),
    };
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(&s),
        escape(&shown)
    )
}

/// `GET /console/grants/{id}`.
pub async fn show(
    admin: Admin,
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> PageResult {
    let id = id
        .ok()
        .and_then(|Path(id)| GrantId::parse(&id))
        .ok_or_else(|| PageError::BadRequest("The grant id in the address is not valid.".into()))?;
    let t = match ops::grant_timeline(&st, id).await {
        Ok(t) => t,
        Err(e) => return Err(op_failed(&st, &admin, Nav::Users, "Grant", &e, "")),
    };
    let body = format!("{}{}", summary(&t), entries(&t));
    Ok(layout(&st, &admin, Nav::Users, "Grant timeline", &body))
}

/// Links to the user's page (when they exist) and to a session on it.
fn user_link(t: &GrantTimeline) -> String {
    match (&t.user, &t.subject) {
        (Some(u), _) => format!(
            "<a href=\"{}\">{}</a> <span class=\"hint\">(<code>{}</code>)</span>",
            escape(&user_path(&u.username)),
            escape(&u.username),
            escape(&u.sub)
        ),
        (None, Some(sub)) => format!(
            "<code>{}</code> <span class=\"hint\">(no such user now)</span>",
            escape(sub)
        ),
        (None, None) => "unknown".into(),
    }
}

fn session_link(t: &GrantTimeline, sid: &str) -> String {
    match &t.user {
        Some(u) => format!(
            "<a href=\"{}#sessions\"><code>{}</code></a>",
            escape(&user_path(&u.username)),
            escape(sid)
        ),
        None => format!("<code>{}</code>", escape(sid)),
    }
}

fn client_link(id: &str) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        escape(&client_path(id)),
        escape(id)
    )
}

fn summary(t: &GrantTimeline) -> String {
    let hex = t.grant_id.to_hex();
    let client = t
        .client_id
        .as_deref()
        .map(client_link)
        .unwrap_or_else(|| "unknown".into());
    let state = match &t.grant {
        Some(g) => {
            let status = match &g.revoked_reason {
                Some(r) => format!("revoked {}", escape(&reason_text(r))),
                None => escape(&g.status),
            };
            format!(
                "<dt>Status</dt><dd>{status}</dd><dt>Generation</dt><dd>{} <span class=\"hint\">({} rotations)</span></dd>\
                 <dt>Scope</dt><dd>{}</dd><dt>Session</dt><dd>{}</dd><dt>Created</dt><dd>{}</dd>\
                 <dt>Last used</dt><dd>{}</dd><dt>Expires</dt><dd>{}</dd>",
                g.generation,
                g.generation.saturating_sub(1),
                escape(&g.scope),
                g.session_id
                    .as_deref()
                    .map(|s| session_link(t, s))
                    .unwrap_or_else(|| "none".into()),
                escape(&g.created_at),
                escape(&g.last_used_at),
                escape(g.expires_at.as_deref().unwrap_or("never")),
            )
        }
        None => "<dt>Status</dt><dd>removed from the store (the cleanup job deletes dead grants); its events remain</dd>".into(),
    };
    format!(
        "<dl class=\"facts\"><dt>Grant</dt><dd><code>{}</code></dd><dt>Client</dt><dd>{client}</dd>\
         <dt>User</dt><dd>{}</dd>{state}</dl>\
         <p><a href=\"/console/events?grant_id={}\">Events of this grant</a></p>",
        escape(&hex),
        user_link(t),
        query_value(&hex),
    )
}

fn entries(t: &GrantTimeline) -> String {
    let reuses = t.entries.iter().filter(|e| e.what.is_reuse()).count();
    let alert = if reuses > 0 {
        format!(
            "<p class=\"alert\" role=\"status\"><strong>Reuse detected {reuses} time{}</strong>: a superseded refresh token of this grant was presented.</p>",
            if reuses == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    let truncated = if t.truncated {
        format!(
            "<p class=\"hint\">Only the newest {} events of this grant are shown.</p>",
            ops::TIMELINE_EVENTS
        )
    } else {
        String::new()
    };
    let items: String = t.entries.iter().map(|e| entry(t, e)).collect();
    format!("<h2>Timeline</h2>{alert}{truncated}<ol class=\"timeline\">{items}</ol>")
}

fn entry(t: &GrantTimeline, e: &Entry) -> String {
    let (title, text) = describe(t, &e.what);
    let class = if e.what.is_reuse() {
        " class=\"reuse\""
    } else {
        ""
    };
    let badge = if e.what.is_reuse() {
        "<span class=\"badge warn\">Reuse detected</span> "
    } else {
        ""
    };
    let source = match &e.event_id {
        Some(id) => format!("event <code>{}</code>", escape(id)),
        None => "from the grant's record".into(),
    };
    format!(
        "<li{class}><p>{} · {badge}<strong>{}</strong></p><p>{text}</p><p class=\"hint\">{source}</p></li>",
        when(e.time),
        escape(title),
    )
}

/// The entry's title and its sentence (HTML).
fn describe(t: &GrantTimeline, w: &What) -> (&'static str, String) {
    match w {
        What::Created {
            grant_type,
            session_id,
            scope,
            resources,
            rotate,
            persist,
            online,
            dpop_bound,
        } => {
            let how = match grant_type.as_deref() {
                Some("authorization_code") => "the authorization code flow".to_string(),
                Some("password") => "the password grant".to_string(),
                Some(g) => format!("grant type <code>{}</code>", escape(g)),
                None => "a grant type not recorded".to_string(),
            };
            let session = match session_id {
                Some(s) => format!(" in session {}", session_link(t, s)),
                None => " outside any browser session".into(),
            };
            let mut facts = vec![if *rotate {
                "refresh tokens rotate at every use"
            } else {
                "its refresh token is reused"
            }];
            if !*persist {
                facts.push("kept in the cache only");
            }
            if *online {
                facts.push("ends with its session (online access)");
            }
            if *dpop_bound {
                facts.push("bound to a DPoP key");
            }
            let res = if resources.is_empty() {
                String::new()
            } else {
                format!(" for {}", escape(&resources.join(", ")))
            };
            (
                "Created",
                format!(
                    "By {how}{session}, with scope <code>{}</code>{res}; {}.",
                    escape(scope),
                    facts.join("; ")
                ),
            )
        }
        What::Rotated {
            generation,
            rotations,
            grace_until,
        } => {
            let grace = match grace_until {
                Some(g) => format!(
                    " A retry with the generation {} token was answered with the current one (grace period) until {}; after that it counts as reuse.",
                    generation - 1,
                    when(*g)
                ),
                None => " There is no grace period: any older token counts as reuse.".into(),
            };
            (
                "Last rotation",
                format!(
                    "Rotated {rotations} time{}: at generation {generation} since this time.{grace}",
                    if *rotations == 1 { "" } else { "s" }
                ),
            )
        }
        What::LastUsed => ("Last used", "The grant's last refresh.".into()),
        What::ReuseDetected {
            presented,
            current,
            reaction,
            applied,
            completed,
        } => {
            let gens = match (presented, current) {
                (Some(p), Some(c)) => format!(
                    "A generation {p} refresh token was presented while the grant was at generation {c}."
                ),
                _ => "A superseded refresh token was presented.".into(),
            };
            let reaction_text = match reaction.as_str() {
                "revoke_grant" => "revoke this grant",
                "revoke_client_user" => "revoke every grant of this client and user",
                "revoke_session" => "revoke every grant of this client and user and end the session",
                "log_only" => "record it only",
                _ => "unknown",
            };
            let applied = if *applied {
                "applied"
            } else {
                "not applied: the grant was already revoked or expired"
            };
            let completed = if *completed {
                " This replay completed the session end an earlier reaction left undone."
            } else {
                ""
            };
            (
                "Reuse detected",
                format!(
                    "{gens} Reaction: {reaction_text} (<code>{}</code>), {applied}.{completed}",
                    escape(reaction)
                ),
            )
        }
        What::ClientMismatch { presented_by } => (
            "Presented by another client",
            format!(
                "The grant's refresh token was presented by client {}; it was refused.",
                presented_by.as_deref().map(client_link).unwrap_or_else(|| "unknown".into())
            ),
        ),
        What::DpopRefused { reason } => (
            "DPoP proof refused",
            format!(
                "A request with this grant's token came with a DPoP proof that was refused (<code>{}</code>).",
                escape(reason.as_deref().unwrap_or("unknown"))
            ),
        ),
        What::Revoked { reason } => (
            "Revoked",
            format!(
                "Revoked {} (<code>{}</code>).",
                escape(&reason_text(reason)),
                escape(reason)
            ),
        ),
        What::Expired { lifetime, removed } => (
            "Expired",
            format!(
                "Its {} lifetime ran out{}.",
                escape(lifetime.as_deref().unwrap_or("")),
                if *removed {
                    "; the cleanup job removed it"
                } else {
                    ""
                }
            ),
        ),
        What::Expires => (
            "Expires",
            "Unless revoked, the grant expires at this time (a sliding lifetime moves it on with each refresh).".into(),
        ),
        What::Other { kind } => ("Event", format!("<code>{}</code>", escape(kind))),
    }
}
