//! The "recent security activity" list of `/account`: the signed-in user's latest
//! events from the event log (sign-ins, applications allowed and revoked, a replayed
//! token that was blocked …), one plain sentence each, every value HTML-escaped.

use super::html::escape;
use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::Event;
use baton_core::store::EventQuery;
use baton_core::time::Timestamp;
use std::collections::HashMap;

/// Lines shown at most.
pub const SHOWN: usize = 20;
/// Events read to find them (the kinds not shown are skipped).
const READ: usize = 200;

/// A sentence for an event of the user's, naming the application by `app`; `None`
/// for the kinds the page does not show.
fn sentence(e: &Event, app: &dyn Fn(&str) -> String) -> Option<String> {
    let kind: EventKind = e.kind.parse().ok()?;
    let client = e.client_id.as_deref().filter(|c| !c.is_empty());
    let name = client.map(app);
    let to_app = name
        .as_ref()
        .map(|n| format!(" to {}", escape(n)))
        .unwrap_or_default();
    let the_app = |fallback: &str| {
        name.as_ref()
            .map(|n| escape(n))
            .unwrap_or_else(|| fallback.to_string())
    };
    let from =
        e.ip.as_deref()
            .map(|ip| format!(" from {}", escape(ip)))
            .unwrap_or_default();
    let reason = e
        .details
        .get("reason")
        .and_then(|r| r.as_str())
        .unwrap_or("");
    Some(match kind {
        EventKind::LoginSucceeded => format!("Signed in{to_app}{from}."),
        EventKind::LoginFailed => format!("A sign-in with a wrong password was refused{from}."),
        EventKind::LoginThrottled => {
            format!("Sign-ins were slowed down after wrong passwords{from}.")
        }
        EventKind::ConsentGranted => format!("You allowed {}.", the_app("an application")),
        EventKind::ConsentDenied => format!("You declined {}.", the_app("an application")),
        EventKind::GrantCreated => format!("{} was given access.", the_app("An application")),
        EventKind::GrantRevoked => {
            let why = match reason {
                "revoked_by_user" => " by you",
                "revoked_by_client" => " by the application",
                "admin" => " by an administrator",
                "reuse_detected" => " after a replayed token was blocked",
                r if r.starts_with("session_ended:") => " when the session ended",
                _ => "",
            };
            format!("Access of {} was revoked{why}.", the_app("an application"))
        }
        EventKind::GrantExpired => format!("Access of {} expired.", the_app("an application")),
        EventKind::TokenReuseDetected => format!(
            "A replayed token of {} was blocked{from}.",
            the_app("an application")
        ),
        EventKind::SessionEnded => match reason {
            "logout" => "Signed out.".to_string(),
            "expired" => "A session expired.".to_string(),
            "admin" => "A session was ended by an administrator.".to_string(),
            "reuse_detected" => {
                "A session was ended after a replayed token was blocked.".to_string()
            }
            _ => "A session ended.".to_string(),
        },
        _ => return None,
    })
}

/// `2026-11-23 10:00 UTC`.
pub fn readable(t: Timestamp) -> String {
    let s = t.rfc3339();
    match (s.get(0..10), s.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => s,
    }
}

/// The section of the account page: the latest [`SHOWN`] events of `subject` that
/// the page shows, newest first.
pub async fn section(st: &AppState, subject: &str) -> Result<String, StoreError> {
    let q = EventQuery {
        subject: Some(subject.to_string()),
        limit: READ,
        ..Default::default()
    };
    let events = st.store.list_events(&q).await?;
    let mut names: HashMap<String, String> = HashMap::new();
    for e in &events {
        if let Some(c) = e.client_id.as_deref() {
            if !names.contains_key(c) {
                let name = match st.store.get_client(c).await? {
                    Some(cl) => cl.display_name().to_string(),
                    None => c.to_string(),
                };
                names.insert(c.to_string(), name);
            }
        }
    }
    let app = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let items: Vec<String> = events
        .iter()
        .filter(|e| e.subject.as_deref() == Some(subject))
        .filter_map(|e| {
            sentence(e, &app).map(|s| {
                format!(
                    "<li><time datetime=\"{}\">{}</time>: {s}</li>",
                    e.time.rfc3339(),
                    readable(e.time)
                )
            })
        })
        .take(SHOWN)
        .collect();
    let list = if items.is_empty() {
        "<p>Nothing recorded yet.</p>".to_string()
    } else {
        format!("<ul class=\"activity\">{}</ul>", items.concat())
    };
    Ok(format!(
        "<section class=\"activity\"><h2>Recent security activity</h2>{list}</section>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, client: Option<&str>, details: serde_json::Value) -> Event {
        Event {
            id: "evt_1".into(),
            kind: kind.into(),
            time: Timestamp(0),
            client_id: client.map(str::to_string),
            subject: Some("u".into()),
            grant_id: None,
            ip: Some("10.0.0.1".into()),
            user_agent: None,
            details,
        }
    }

    #[test]
    fn sentences_name_the_app_escaped() {
        let app = |_: &str| "<b>Evil</b> & Co".to_string();
        let s = sentence(
            &ev("token.reuse_detected", Some("x"), serde_json::json!({})),
            &app,
        )
        .unwrap();
        assert_eq!(
            s,
            "A replayed token of &lt;b&gt;Evil&lt;/b&gt; &amp; Co was blocked from 10.0.0.1."
        );
        let s = sentence(
            &ev(
                "grant.revoked",
                Some("x"),
                serde_json::json!({"reason": "revoked_by_user"}),
            ),
            &app,
        )
        .unwrap();
        assert!(s.ends_with("was revoked by you."), "{s}");
        assert_eq!(
            sentence(&ev("login.succeeded", None, serde_json::json!({})), &app).unwrap(),
            "Signed in from 10.0.0.1."
        );
        assert!(sentence(
            &ev("backchannel_logout.sent", Some("x"), serde_json::json!({})),
            &app
        )
        .is_none());
        assert!(sentence(&ev("no.such", None, serde_json::json!({})), &app).is_none());
    }
}
