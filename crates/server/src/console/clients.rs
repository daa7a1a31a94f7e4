//! `/console/clients`: the list (search, pages), create, edit, the refresh-token
//! settings, secret reset and delete. Each action is the admin API's op; a client of
//! the configuration file is shown read-only and the ops refuse changes to it (409).

use super::client_form::{self, Values};
use super::paging::{self, Query, PAGE_SIZE};
use super::settings_form::{self, Mode};
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
use baton_core::model::{Client, ManagedBy};
use baton_proto::admin::{ClientPatch, ClientView};

fn client_path(id: &str) -> String {
    format!("/console/clients/{}", path_segment(id))
}

fn path_id(p: Result<Path<String>, PathRejection>) -> Result<String, PageError> {
    p.map(|Path(id)| id)
        .map_err(|_| PageError::BadRequest("The client id in the address is not valid.".into()))
}

fn kind(public: bool) -> &'static str {
    if public {
        "public"
    } else {
        "confidential"
    }
}

/// `GET /console/clients?q=&after=`: clients in `client_id` order, searched by id or name.
pub async fn list(admin: Admin, State(st): State<Shared>, RawQuery(raw): RawQuery) -> PageResult {
    let (q, f) = Query::parse(raw.as_deref(), &["deleted"])?;
    let page = paging::scan(
        |after, n| {
            let store = st.store.clone();
            async move { store.list_clients_page(after.as_deref(), n).await }
        },
        |c: &Client| c.client_id.clone(),
        |c| q.matches(&[&c.client_id, c.client_name.as_deref().unwrap_or_default()]),
        q.after.clone(),
        PAGE_SIZE,
    )
    .await?;
    let notice = f
        .get("deleted")
        .map(|id| {
            format!(
                "<p class=\"notice\" role=\"status\">Client <strong>{}</strong> was deleted; its grants were revoked.</p>",
                escape(id)
            )
        })
        .unwrap_or_default();
    let rows: String = page
        .items
        .iter()
        .map(|c| {
            let s = st.refresh_settings(c);
            let managed = match c.managed_by {
                ManagedBy::Config => "<span class=\"badge warn\">configuration file (read-only)</span>",
                ManagedBy::Api if c.dynamically_registered => "<span class=\"badge\">registered dynamically</span>",
                ManagedBy::Api => "<span class=\"badge\">console / API</span>",
            };
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{managed}</td></tr>",
                escape(&client_path(&c.client_id)),
                escape(&c.client_id),
                escape(c.client_name.as_deref().unwrap_or("")),
                kind(c.is_public()),
                if s.rotates(c.is_public()) { "rotate" } else { "reuse" },
                escape(&baton_core::time::format_duration(s.grace_period)),
                if c.active { "yes" } else { "no" },
            )
        })
        .collect();
    let table = if page.items.is_empty() {
        if q.q.is_empty() {
            "<p>No clients yet.</p>".to_string()
        } else {
            format!("<p>No client matches “{}”.</p>", escape(&q.q))
        }
    } else {
        super::table_box(
            "Clients",
            &format!(
                "<table><thead><tr><th scope=\"col\">Client ID</th><th scope=\"col\">Name</th>\
                 <th scope=\"col\">Type</th><th scope=\"col\">Refresh tokens</th><th scope=\"col\">Grace</th><th scope=\"col\">Active</th>\
                 <th scope=\"col\">Managed by</th></tr></thead><tbody>{rows}</tbody></table>"
            ),
        )
    };
    let body = format!(
        "{notice}<p><a href=\"/console/clients/new\">New client</a></p>{}{table}{}",
        paging::search_form("/console/clients", "clients (ID or name)", &q),
        paging::pager("/console/clients", &q, page.next.as_deref(), &[]),
    );
    Ok(layout(&st, &admin, Nav::Clients, "Clients", &body))
}

fn server_dto(st: &AppState) -> baton_proto::settings::RefreshTokenSettings {
    st.server_refresh_settings().to_dto()
}

/// The create form, with `v` and the overrides `rt` (after an error: what was posted).
fn create_form(
    st: &AppState,
    admin: &Admin,
    v: &Values,
    rt: &baton_proto::settings::RefreshTokenSettings,
) -> String {
    let server = server_dto(st);
    format!(
        "<form method=\"post\" action=\"/console/clients/new\">{}{}\
         <fieldset><legend>Refresh tokens</legend>{}</fieldset>\
         <button type=\"submit\">Create client</button></form>",
        admin.csrf_field(st),
        client_form::fields(v, true, false),
        settings_form::controls(
            &Mode::Client {
                overrides: rt,
                server: &server
            },
            false
        ),
    )
}

/// `GET /console/clients/new`.
pub async fn new_form(admin: Admin, State(st): State<Shared>) -> PageResult {
    let body = create_form(&st, &admin, &Values::new_client(), &Default::default());
    Ok(layout(&st, &admin, Nav::Clients, "New client", &body))
}

/// The page that shows a new secret, the only time it is shown.
fn secret_page(
    st: &AppState,
    admin: &Admin,
    c: &ClientView,
    title: &str,
    what: &str,
) -> PageResult {
    let secret = c.client_secret.as_deref().unwrap_or_default();
    let body = format!(
        "<p class=\"notice\" role=\"status\">{what}</p>\
         <p>The client secret of <strong>{}</strong> is shown <strong>only this once</strong>: copy it now. \
         Baton stores only its digest and cannot show it again (reset it to get a new one).</p>\
         <p><label for=\"secret\">Client secret</label>\
         <input type=\"text\" id=\"secret\" class=\"secret\" readonly value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"></p>\
         <p><a href=\"{}\">Continue to the client</a></p>",
        escape(&c.client_id),
        escape(secret),
        escape(&client_path(&c.client_id)),
    );
    Ok(layout(st, admin, Nav::Clients, title, &body))
}

/// `POST /console/clients/new`: creates the client (its secret shown once).
pub async fn create(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[&client_form::FIELDS, &settings_form::FIELDS])?;
    let again = |e: &crate::admin::AdminError, rt: &baton_proto::settings::RefreshTokenSettings| {
        let form = create_form(&st, &admin, &Values::posted(&f, ""), rt);
        op_failed(&st, &admin, Nav::Clients, "New client", e, &form)
    };
    let rt = settings_form::read_overrides(&f).map_err(|e| again(&e, &Default::default()))?;
    let req = client_form::read_create(&f, rt.clone()).map_err(|e| again(&e, &rt))?;
    let c = ops::create_client(&st, req, &admin.caller(caller))
        .await
        .map_err(|e| again(&e, &rt))?;
    if c.client_secret.is_some() {
        secret_page(&st, &admin, &c, "Client created", "The client was created.")
    } else {
        see_other(&format!("{}?saved=created", client_path(&c.client_id)))
    }
}

/// The edit page of a client: its settings, its refresh-token settings, its secret
/// and delete; read-only (every control disabled) for a client of the configuration
/// file. `notice`/`error`: shown at the top.
fn edit_page(
    st: &AppState,
    admin: &Admin,
    c: &ClientView,
    v: &Values,
    rt: &baton_proto::settings::RefreshTokenSettings,
) -> String {
    let readonly = c.managed_by == "config";
    let path = escape(&client_path(&c.client_id));
    let csrf = admin.csrf_field(st);
    let server = server_dto(st);
    let banner = if readonly {
        "<p class=\"alert\" role=\"note\"><strong>Read-only:</strong> this client is defined in the configuration file. \
         Change or remove it there; the console, the admin API and the CLI refuse changes to it (409 Conflict).</p>"
    } else if c.managed_by == "registration" {
        "<p class=\"hint\">Registered dynamically (/register).</p>"
    } else {
        ""
    };
    let dis = if readonly { " disabled" } else { "" };
    let secret = if matches!(
        c.token_endpoint_auth_method.as_str(),
        "client_secret_basic" | "client_secret_post"
    ) {
        format!(
            "<h2 id=\"secret-h\">Client secret</h2><form method=\"post\" action=\"{path}/secret\" aria-labelledby=\"secret-h\">{csrf}\
             <p>Resetting makes a new secret (shown once) and the current one stops working at once; the client's grants stay.</p>\
             <button type=\"submit\" class=\"secondary\"{dis}>Reset the client secret</button></form>"
        )
    } else {
        String::new()
    };
    format!(
        "{banner}<p>Client ID <code>{}</code> · {} · created {}</p>\
         <h2 id=\"settings-h\">Settings</h2>\
         <form method=\"post\" action=\"{path}\" aria-labelledby=\"settings-h\">{csrf}{}\
         <button type=\"submit\"{dis}>Save settings</button></form>\
         <h2 id=\"refresh-h\">Refresh tokens</h2>\
         <form method=\"post\" action=\"{path}/refresh\" aria-labelledby=\"refresh-h\">{csrf}\
         <p class=\"hint\">Each setting is inherited from the server-wide settings (Keys &amp; settings) unless overridden here. \
         New grants follow a change; existing grants keep the settings they were created with.</p>{}\
         <button type=\"submit\"{dis}>Save refresh-token settings</button></form>{secret}\
         <h2>Delete</h2><p><a href=\"{path}/delete\">Delete this client…</a></p>",
        escape(&c.client_id),
        kind(c.token_endpoint_auth_method == "none"),
        escape(&c.created_at),
        client_form::fields(v, false, readonly),
        settings_form::controls(
            &Mode::Client {
                overrides: rt,
                server: &server
            },
            readonly
        ),
    )
}

fn title_of(c: &ClientView) -> String {
    format!(
        "Client {}",
        c.client_name.as_deref().unwrap_or(&c.client_id)
    )
}

/// `GET /console/clients/{client_id}`.
pub async fn edit_form(
    admin: Admin,
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let id = path_id(id)?;
    let (_, f) = Query::parse(raw.as_deref(), &["saved"])?;
    let c = load(&st, &admin, &id, "Client").await?;
    let notice = match f.get("saved") {
        Some("created") => "<p class=\"notice\" role=\"status\">The client was created.</p>",
        Some("refresh") => {
            "<p class=\"notice\" role=\"status\">The refresh-token settings were saved.</p>"
        }
        Some(_) => "<p class=\"notice\" role=\"status\">The settings were saved.</p>",
        None => "",
    };
    let body = format!(
        "{notice}{}",
        edit_page(&st, &admin, &c, &Values::of(&c), &c.refresh_tokens)
    );
    Ok(layout(&st, &admin, Nav::Clients, &title_of(&c), &body))
}

/// Runs a change; on failure, the edit page again with the error (and, for the main
/// form, what was posted).
async fn fail_page(
    st: &AppState,
    admin: &Admin,
    id: &str,
    e: &crate::admin::AdminError,
    posted: Option<&crate::http::form::Form>,
) -> PageError {
    match ops::get_client(st, id).await {
        Ok(c) => {
            let v = posted.map_or_else(|| Values::of(&c), |f| Values::posted(f, id));
            let page = edit_page(st, admin, &c, &v, &c.refresh_tokens);
            op_failed(st, admin, Nav::Clients, &title_of(&c), e, &page)
        }
        Err(_) => op_failed(st, admin, Nav::Clients, "Client", e, BACK),
    }
}

/// The link back to the list, under a refusal that has no client page to show.
const BACK: &str = "<p><a href=\"/console/clients\">Back to the clients</a></p>";

/// The client `id` as the admin API shows it, or the refusal (no such client: 404)
/// as a page titled `title`.
async fn load(
    st: &AppState,
    admin: &Admin,
    id: &str,
    title: &str,
) -> Result<baton_proto::admin::ClientView, PageError> {
    ops::get_client(st, id)
        .await
        .map_err(|e| op_failed(st, admin, Nav::Clients, title, &e, BACK))
}

/// `POST /console/clients/{client_id}`: saves the main settings.
pub async fn update(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let id = path_id(id)?;
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[&client_form::FIELDS, &settings_form::FIELDS])?;
    let result = match client_form::read_patch(&f) {
        Ok(p) => ops::patch_client(&st, &id, p, &admin.caller(caller)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!("{}?saved=settings", client_path(&id))),
        Err(e) => Err(fail_page(&st, &admin, &id, &e, Some(&f)).await),
    }
}

/// `POST /console/clients/{client_id}/refresh`: the refresh-token overrides, replaced
/// whole by what the form shows (an "inherit" control clears its override).
pub async fn update_refresh(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let id = path_id(id)?;
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[&settings_form::FIELDS])?;
    let result = match settings_form::read_overrides(&f) {
        Ok(rt) => {
            let p = ClientPatch {
                refresh_tokens: Some(rt),
                ..ClientPatch::default()
            };
            ops::patch_client_replacing_refresh(&st, &id, p, &admin.caller(caller)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!("{}?saved=refresh", client_path(&id))),
        Err(e) => Err(fail_page(&st, &admin, &id, &e, None).await),
    }
}

/// `POST /console/clients/{client_id}/secret`: a new secret, shown once.
pub async fn reset_secret(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let id = path_id(id)?;
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[])?;
    match ops::reset_client_secret(&st, &id, &admin.caller(caller)).await {
        Ok(c) => secret_page(
            &st,
            &admin,
            &c,
            "New client secret",
            "The client secret was reset; the old one no longer works.",
        ),
        Err(e) => Err(fail_page(&st, &admin, &id, &e, None).await),
    }
}

/// `GET /console/clients/{client_id}/delete`: asks to confirm.
pub async fn delete_form(
    admin: Admin,
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> PageResult {
    let id = path_id(id)?;
    let c = load(&st, &admin, &id, "Delete client").await?;
    let path = escape(&client_path(&id));
    let readonly = if c.managed_by == "config" {
        "<p class=\"alert\" role=\"note\"><strong>Read-only:</strong> this client is defined in the configuration file: \
         remove it there. Deleting it here is refused (409 Conflict).</p>"
    } else {
        ""
    };
    let body = format!(
        "{readonly}<p>Delete <strong>{}</strong> (<code>{}</code>)? Every grant it holds is revoked, every user's consent to it is \
         withdrawn, and the client is removed. This cannot be undone.</p>\
         <form method=\"post\" action=\"{path}/delete\">{}\
         <button type=\"submit\" class=\"danger\">Delete the client</button> <a href=\"{path}\">Cancel</a></form>",
        escape(c.client_name.as_deref().unwrap_or(&c.client_id)),
        escape(&c.client_id),
        admin.csrf_field(&st),
    );
    Ok(layout(&st, &admin, Nav::Clients, "Delete client", &body))
}

/// `POST /console/clients/{client_id}/delete`.
pub async fn delete(
    admin: Admin,
    State(st): State<Shared>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body,
) -> PageResult {
    let id = path_id(id)?;
    let f = read_form(&st, &admin, &headers, &body)?;
    only_fields(&f, &[])?;
    match ops::delete_client(&st, &id, &admin.caller(caller)).await {
        Ok(()) => see_other(&format!("/console/clients?deleted={}", query_value(&id))),
        Err(e) => Err(fail_page(&st, &admin, &id, &e, None).await),
    }
}
