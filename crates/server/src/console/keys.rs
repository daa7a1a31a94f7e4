//! `/console/keys`: the signing keys with their state and a rotate button
//! (`ops::rotate_keys`), and the server-wide refresh-token settings form
//! (`ops::patch_settings`, as `PATCH /admin/settings`).

use super::settings_form::{self, Mode};
use super::{escape, layout, only_fields, op_failed, read_form, see_other, Admin, Nav};
use crate::admin::ops;
use crate::caller::Caller;
use crate::http::error::{PageError, PageResult};
use crate::http::Body;
use crate::state::{AppState, Shared};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use baton_core::model::SigningKey;
use baton_core::time::{format_duration, Dur, Timestamp};
use baton_proto::settings::Settings;

/// A key's state at `now`, in words. A key's `retired_at` is when it stops signing
/// (it may lie ahead: rotation pre-publishes the new key); a retired key stays
/// published, and verifies, for `published_for` after that.
fn state(k: &SigningKey, all: &[SigningKey], now: Timestamp, published_for: Dur) -> String {
    match k.retired_at {
        Some(r) if r > now => format!("active, retiring at {}", r.rfc3339()),
        Some(r) if now.since(r) <= published_for => format!(
            "retired at {}; verifies until {}",
            r.rfc3339(),
            r.plus(published_for).rfc3339()
        ),
        Some(r) => format!("retired at {}; no longer published", r.rfc3339()),
        None => {
            // A newer key waits while an older one of its algorithm still signs.
            let waits_for = all
                .iter()
                .filter(|o| o.alg == k.alg && o.kid != k.kid)
                .filter_map(|o| o.retired_at)
                .filter(|r| *r > now)
                .min();
            match waits_for {
                Some(r) => format!("published; signs from {}", r.rfc3339()),
                None => "active".to_string(),
            }
        }
    }
}

fn page_body(st: &AppState, admin: &Admin, keys: &[SigningKey], settings_html: &str) -> String {
    let now = st.clock.now();
    let published_for = ops::retired_key_published_for(st);
    let mut sorted: Vec<&SigningKey> = keys.iter().collect();
    sorted.sort_by(|a, b| {
        (a.alg.as_str(), std::cmp::Reverse(a.created_at))
            .cmp(&(b.alg.as_str(), std::cmp::Reverse(b.created_at)))
    });
    let rows: String = sorted
        .iter()
        .map(|k| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&k.kid),
                k.alg.as_str(),
                k.created_at.rfc3339(),
                escape(&state(k, keys, now, published_for)),
            )
        })
        .collect();
    let table = super::table_box(
        "Signing keys",
        &format!(
            "<table><thead><tr><th scope=\"col\">Key ID</th><th scope=\"col\">Algorithm</th>\
             <th scope=\"col\">Created</th><th scope=\"col\">State</th></tr></thead><tbody>{rows}</tbody></table>"
        ),
    );
    format!(
        "<h2 id=\"keys-h\">Signing keys</h2>{table}\
         <form method=\"post\" action=\"/console/keys/rotate\">{}\
         <p>Rotating makes a new key for every algorithm, published at once; the current keys keep signing for {} \
         (so relying parties fetch the new keys first), then retire and stay published until the tokens they signed have expired.</p>\
         <button type=\"submit\">Rotate signing keys</button></form>\
         <h2 id=\"settings-h\">Server-wide refresh-token settings</h2>\
         <p class=\"hint\">What every client inherits unless it overrides a setting. Stored and applied on every node within seconds; \
         new grants follow a change, existing grants keep theirs. Only the settings you change are stored (the others keep \
         following the configuration file).</p>{settings_html}",
        admin.csrf_field(st),
        escape(&format_duration(st.cfg.signing_keys.pre_publication)),
    )
}

fn settings_form(st: &AppState, admin: &Admin) -> String {
    let effective = ops::get_settings(st).refresh_tokens;
    format!(
        "<form method=\"post\" action=\"/console/settings\" aria-labelledby=\"settings-h\">{}{}\
         <button type=\"submit\">Save server-wide settings</button></form>",
        admin.csrf_field(st),
        settings_form::controls(
            &Mode::Server {
                effective: &effective
            },
            false
        ),
    )
}

/// `GET /console/keys`.
pub async fn get(admin: Admin, State(st): State<Shared>, RawQuery(raw): RawQuery) -> PageResult {
    let (_, f) = super::paging::Query::parse(raw.as_deref(), &["done"])?;
    let keys = st.store.list_keys().await?;
    let notice = match f.get("done") {
        Some("rotated") => "<p class=\"notice\" role=\"status\">New signing keys were made.</p>",
        Some("settings") => {
            "<p class=\"notice\" role=\"status\">The server-wide settings were saved.</p>"
        }
        Some("unchanged") => "<p class=\"notice\" role=\"status\">Nothing was changed.</p>",
        _ => "",
    };
    let body = format!(
        "{notice}{}",
        page_body(&st, &admin, &keys, &settings_form(&st, &admin))
    );
    Ok(layout(&st, &admin, Nav::Keys, "Keys & settings", &body))
}

async fn failed(st: &AppState, admin: &Admin, e: &crate::admin::AdminError) -> PageError {
    let keys = st.store.list_keys().await.unwrap_or_default();
    let body = page_body(st, admin, &keys, &settings_form(st, admin));
    op_failed(st, admin, Nav::Keys, "Keys & settings", e, &body)
}

/// `POST /console/keys/rotate`.
pub async fn rotate(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[])?;
    match ops::rotate_keys(&st, &admin.caller(caller)).await {
        Ok(_) => see_other("/console/keys?done=rotated"),
        Err(e) => Err(failed(&st, &admin, &e).await),
    }
}

/// `POST /console/settings`: the changed server-wide refresh-token settings, stored
/// as `PATCH /admin/settings` stores them.
pub async fn update_settings(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[&settings_form::FIELDS])?;
    let effective = ops::get_settings(&st).refresh_tokens;
    let changes = match settings_form::read_server_changes(&f, &effective) {
        Ok(c) => c,
        Err(e) => return Err(failed(&st, &admin, &e).await),
    };
    if changes == Default::default() {
        return see_other("/console/keys?done=unchanged");
    }
    let p = Settings {
        refresh_tokens: changes,
        ..Settings::default()
    };
    match ops::patch_settings(&st, p, &admin.caller(caller)).await {
        Ok(_) => see_other("/console/keys?done=settings"),
        Err(e) => Err(failed(&st, &admin, &e).await),
    }
}
