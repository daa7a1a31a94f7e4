//! The console's event log (`/console/events`): filtered by type, client, user, grant
//! and time range, newest first, a page at a time (`admin::ops::list_events`, the admin
//! API's); reuse detections highlighted, each event of a grant linking to its timeline.

use super::grants::when;
use super::paging::{self, Query};
use super::users::{client_path, grant_path, user_path};
use super::{escape, layout, op_failed, Admin, Nav};
use crate::admin::ops;
use crate::http::error::PageResult;
use crate::state::{AppState, Shared};
use axum::extract::{RawQuery, State};
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::time::Timestamp;
use baton_proto::admin::{EventListQuery, EventView};
use std::collections::HashMap;

/// How many events a page shows.
const SHOWN: usize = 50;

/// The filters, as the form has them.
#[derive(Default)]
struct Filters {
    kind: String,
    client_id: String,
    /// A username or a `sub`.
    user: String,
    grant_id: String,
    since: String,
    until: String,
}

const FIELDS: [&str; 6] = ["type", "client_id", "user", "grant_id", "since", "until"];

impl Filters {
    fn read(f: &crate::http::form::Form) -> Filters {
        let v = |k: &str| f.get(k).unwrap_or_default().trim().to_string();
        Filters {
            kind: v("type"),
            client_id: v("client_id"),
            user: v("user"),
            grant_id: v("grant_id"),
            since: v("since"),
            until: v("until"),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, &str)> {
        FIELDS
            .iter()
            .zip([
                &self.kind,
                &self.client_id,
                &self.user,
                &self.grant_id,
                &self.since,
                &self.until,
            ])
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }
}

/// A time from the form: a browser's `datetime-local` value (`2026-12-03T14:05`, with
/// or without seconds), read as UTC, or an RFC 3339 time. Anything else is passed on
/// as it is, for the operation to refuse with its own message.
fn rfc3339(v: &str) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    let local = match v.len() {
        16 => Some(format!("{v}:00Z")),
        19 => Some(format!("{v}Z")),
        _ => None,
    };
    match local {
        Some(t) if Timestamp::parse_rfc3339(&t).is_some() => Some(t),
        _ => Some(v.to_string()),
    }
}

fn opt(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// `GET /console/events?type=&client_id=&user=&grant_id=&since=&until=&after=`.
pub async fn list(admin: Admin, State(st): State<Shared>, RawQuery(raw): RawQuery) -> PageResult {
    let (q, f) = Query::parse(raw.as_deref(), &FIELDS)?;
    let fl = Filters::read(&f);
    // A user is named by username or by `sub`; events record the `sub`.
    let subject = match opt(&fl.user) {
        Some(u) => Some(match st.store.get_user(&u).await? {
            Some(user) => user.sub,
            None => u,
        }),
        None => None,
    };
    let query = EventListQuery {
        kind: opt(&fl.kind),
        client_id: opt(&fl.client_id),
        subject,
        grant_id: opt(&fl.grant_id),
        since: rfc3339(&fl.since),
        until: rfc3339(&fl.until),
        cursor: q.after.clone(),
        limit: Some(SHOWN),
    };
    let form = filter_form(&fl);
    let page = match ops::list_events(&st, query).await {
        Ok(p) => p,
        Err(e) => return Err(op_failed(&st, &admin, Nav::Events, "Events", &e, &form)),
    };
    let names = usernames(&st, &page.items).await?;
    let rows: String = page.items.iter().map(|e| row(e, &names)).collect();
    let filtered = !fl.pairs().is_empty();
    let table = if page.items.is_empty() {
        if filtered {
            "<p>No event matches these filters.</p>".to_string()
        } else {
            "<p>No events yet.</p>".to_string()
        }
    } else {
        super::table_box(
            "Events",
            &format!(
            "<table><caption class=\"hint\">Events, newest first{}; reuse detections are marked</caption><thead><tr>\
             <th scope=\"col\">Time</th><th scope=\"col\">Type</th><th scope=\"col\">Client</th><th scope=\"col\">User</th>\
             <th scope=\"col\">Grant</th><th scope=\"col\">Address</th><th scope=\"col\">Details</th></tr></thead><tbody>{rows}</tbody></table>",
            if filtered { ", filtered" } else { "" }
        ),
        )
    };
    let body = format!(
        "{form}{table}{}",
        paging::pager(
            "/console/events",
            &Query::default(),
            page.next_cursor.as_deref(),
            &fl.pairs()
        )
    );
    Ok(layout(&st, &admin, Nav::Events, "Events", &body))
}

/// The usernames of the subjects the events name (one lookup each).
async fn usernames(
    st: &AppState,
    evs: &[EventView],
) -> Result<HashMap<String, String>, StoreError> {
    let mut names = HashMap::new();
    for sub in evs.iter().filter_map(|e| e.subject.as_deref()) {
        if !names.contains_key(sub) {
            if let Some(u) = st.store.get_user_by_sub(sub).await? {
                names.insert(sub.to_string(), u.username);
            }
        }
    }
    Ok(names)
}

fn row(e: &EventView, names: &HashMap<String, String>) -> String {
    let reuse = e.kind == EventKind::TokenReuseDetected.as_str();
    let (class, badge) = if reuse {
        (
            " class=\"reuse\"",
            " <span class=\"badge warn\">Reuse detected</span>",
        )
    } else {
        ("", "")
    };
    let client = e
        .client_id
        .as_deref()
        .map(|c| format!("<a href=\"{}\">{}</a>", escape(&client_path(c)), escape(c)))
        .unwrap_or_default();
    let user = match e.subject.as_deref() {
        Some(sub) => match names.get(sub) {
            Some(n) => format!("<a href=\"{}\">{}</a>", escape(&user_path(n)), escape(n)),
            None => format!("<code>{}</code>", escape(sub)),
        },
        None => String::new(),
    };
    let grant = e
        .grant_id
        .as_deref()
        .map(|g| {
            format!(
                "<a href=\"{}\" title=\"The timeline of grant {}\"><code>{}…</code></a>",
                escape(&grant_path(g)),
                escape(g),
                escape(g.get(..8).unwrap_or(g))
            )
        })
        .unwrap_or_default();
    let time = Timestamp::parse_rfc3339(&e.time)
        .map(when)
        .unwrap_or_else(|| escape(&e.time));
    format!(
        "<tr{class}><td>{time}</td><td><code>{}</code>{badge}</td><td>{client}</td><td>{user}</td><td>{grant}</td>\
         <td>{}</td><td><code class=\"details\">{}</code></td></tr>",
        escape(&e.kind),
        escape(e.ip.as_deref().unwrap_or("")),
        escape(&e.details.to_string()),
    )
}

fn filter_form(fl: &Filters) -> String {
    let options: String = std::iter::once(("", "Any type"))
        .chain(EventKind::ALL.iter().map(|k| (k.as_str(), k.as_str())))
        .map(|(v, label)| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                escape(v),
                if v == fl.kind { " selected" } else { "" },
                escape(label)
            )
        })
        .collect();
    let text = |id: &str, label: &str, v: &str, hint: &str| {
        format!(
            "<div><label for=\"f-{id}\">{label}</label><input type=\"text\" id=\"f-{id}\" name=\"{id}\" value=\"{}\"{}></div>",
            escape(v),
            if hint.is_empty() {
                String::new()
            } else {
                format!(" placeholder=\"{}\"", escape(hint))
            }
        )
    };
    let time = |id: &str, label: &str, v: &str| {
        format!(
            "<div><label for=\"f-{id}\">{label}</label><input type=\"datetime-local\" step=\"1\" id=\"f-{id}\" name=\"{id}\" value=\"{}\"></div>",
            escape(v)
        )
    };
    format!(
        "<form method=\"get\" action=\"/console/events\" class=\"search filters\" role=\"search\" aria-label=\"Filter events\">\
         <div><label for=\"f-type\">Type</label><select id=\"f-type\" name=\"type\">{options}</select></div>\
         {}{}{}{}{}<button type=\"submit\" class=\"secondary\">Filter</button></form>\
         <p class=\"hint\">Times are UTC; from is inclusive, to exclusive.</p>",
        text("client_id", "Client", &fl.client_id, ""),
        text("user", "User (username or sub)", &fl.user, ""),
        text("grant_id", "Grant", &fl.grant_id, ""),
        time("since", "From", &fl.since),
        time("until", "To", &fl.until),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_read_as_utc() {
        assert_eq!(rfc3339(""), None);
        assert_eq!(
            rfc3339("2026-12-03T14:05").as_deref(),
            Some("2026-12-03T14:05:00Z")
        );
        assert_eq!(
            rfc3339("2026-12-03T14:05:09").as_deref(),
            Some("2026-12-03T14:05:09Z")
        );
        assert_eq!(
            rfc3339("2026-12-03T14:05:09+01:00").as_deref(),
            Some("2026-12-03T14:05:09+01:00")
        );
        // Not a time: left for the operation to refuse, naming the field.
        assert_eq!(rfc3339("yesterday").as_deref(), Some("yesterday"));
        assert_eq!(
            rfc3339("2026-13-03T14:05").as_deref(),
            Some("2026-13-03T14:05")
        );
    }
}
