//! Clients: list (by page), read, create, change, delete. A client managed by the
//! configuration file is read-only here: changing or deleting it answers 409.

use super::resources::check_known;
use super::{
    changed, internal, name_cursor, next_page, page_size, record, revoke_matching, AdminError,
    AdminResult,
};
use crate::admin::views::{client_as_create, client_view};
use crate::caller::Caller;
use crate::state::AppState;
use base64::Engine;
use baton_core::client_spec::ClientSpec;
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{Client, ManagedBy};
use baton_core::policy::RefreshOverrides;
use baton_core::store::GrantFilter;
use baton_proto::admin::{ClientCreate, ClientPatch, ClientView, ListQuery, Page};

/// One page of clients, in `client_id` order (never a secret).
pub async fn list_clients(st: &AppState, q: ListQuery) -> AdminResult<Page<ClientView>> {
    let limit = page_size(q.limit)?;
    let after = name_cursor(q.cursor.as_deref())?;
    let cs = st.store.list_clients_page(after, limit + 1).await?;
    let page = next_page(cs, limit, |c| c.client_id.clone());
    Ok(Page {
        items: page.items.iter().map(|c| client_view(c, None)).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Refuses to change or delete a client the configuration file manages: the next
/// start would undo the change, so it is made in the file.
/// The stored client `client_id`, if the admin API may change it: not found (404), or
/// refused when the configuration file defines it (409).
async fn editable_client(st: &AppState, client_id: &str) -> AdminResult<Client> {
    let c = st
        .store
        .get_client(client_id)
        .await?
        .ok_or_else(|| no_client(client_id))?;
    match c.managed_by {
        ManagedBy::Api => Ok(c),
        ManagedBy::Config => Err(AdminError::Conflict(format!(
            "client `{}` is defined in the configuration file: change or remove it there \
             (the admin API and the CLI cannot change or delete it)",
            c.client_id
        ))),
    }
}

pub async fn get_client(st: &AppState, client_id: &str) -> AdminResult<ClientView> {
    match st.store.get_client(client_id).await? {
        Some(c) => Ok(client_view(&c, None)),
        None => Err(no_client(client_id)),
    }
}

fn no_client(id: &str) -> AdminError {
    AdminError::NotFound(format!("no client `{id}`"))
}

/// A new client secret: 256 random bits, base64url (43 characters).
fn generate_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(baton_core::random_bytes::<32>())
}

fn needs_secret(method: &str) -> bool {
    matches!(method, "client_secret_basic" | "client_secret_post")
}

/// Validates `body` with the one client validator (`baton_core::client_spec`), as a
/// configured client is; an error names the key (`redirect_uris[0]`,
/// `refresh_tokens.grace_period` …).
fn validate_client(
    st: &AppState,
    body: &ClientCreate,
    secret: SecretSource,
) -> AdminResult<crate::config::ClientConfig> {
    let mut spec = ClientSpec::from(body.clone());
    match secret {
        SecretSource::New(s) => spec.client_secret = Some(s),
        SecretSource::Stored(h) => spec.client_secret_sha256 = Some(baton_core::secret::hex(&h)),
        SecretSource::None => {}
    }
    spec.validate(&st.server_refresh_settings())
        .map_err(|e| AdminError::invalid(&e.field, e.message))
}

/// The resources a client names must exist (`default_resource` is one of its
/// `resources`, which the validator checked); the error names the key as the request
/// gave it (`resources[1]`).
async fn resources_exist(st: &AppState, body: &ClientCreate) -> AdminResult<()> {
    check_known(st, "resources", &body.resources).await?;
    check_known(st, "introspect_resources", &body.introspect_resources).await
}

enum SecretSource {
    New(String),
    Stored([u8; 32]),
    None,
}

/// Creates a client; the answer carries its generated `client_secret`, the only time
/// it is shown (only its SHA-256 is stored).
pub async fn create_client(
    st: &AppState,
    mut req: ClientCreate,
    caller: &Caller,
) -> AdminResult<ClientView> {
    let method = req.token_endpoint_auth_method.clone().unwrap_or_else(|| {
        if req.jwks.is_some() {
            "private_key_jwt".into()
        } else {
            "client_secret_basic".into()
        }
    });
    req.token_endpoint_auth_method = Some(method.clone());
    let secret = needs_secret(&method).then(generate_secret);
    let cc = validate_client(
        st,
        &req,
        secret.clone().map_or(SecretSource::None, SecretSource::New),
    )?;
    resources_exist(st, &req).await?;
    if st.store.get_client(&cc.client_id).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "a client `{}` exists already",
            cc.client_id
        )));
    }
    let client = crate::bootstrap::client_from_config(&cc, st.clock.now());
    // Insert-only: a concurrent create of the same id cannot overwrite this one (and
    // its secret) between the check above and here.
    match st.store.insert_client(&client).await {
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::Conflict(format!(
                "a client `{}` exists already",
                cc.client_id
            )))
        }
        other => other?,
    }
    st.cors_origins.add(&st.cfg, &client);
    let ev = changed(
        EventKind::ClientChanged,
        st,
        caller,
        Some(&client.client_id),
        None,
        serde_json::json!({"action": "created"}),
    );
    record(st, ev).await?;
    Ok(client_view(&client, secret))
}

/// Changes a client. `refresh_tokens` merges key by key into its overrides; new grants
/// follow the new settings, existing grants keep theirs (SPEC §2.9). Answers a new
/// `client_secret` only when the change moves a client without one to a secret method.
pub async fn patch_client(
    st: &AppState,
    client_id: &str,
    p: ClientPatch,
    caller: &Caller,
) -> AdminResult<ClientView> {
    update_client(st, client_id, p, Refresh::Merge, caller).await
}

/// Changes a client like [`patch_client`], but `p.refresh_tokens` replaces its
/// refresh-token overrides whole: a key absent from it is inherited again from the
/// server-wide settings (the console's settings form, which shows every key).
pub async fn patch_client_replacing_refresh(
    st: &AppState,
    client_id: &str,
    p: ClientPatch,
    caller: &Caller,
) -> AdminResult<ClientView> {
    update_client(st, client_id, p, Refresh::Replace, caller).await
}

/// How a change's `refresh_tokens` meets the client's overrides.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Refresh {
    /// Key by key over them (the admin API's PATCH).
    Merge,
    /// In their place.
    Replace,
}

async fn update_client(
    st: &AppState,
    client_id: &str,
    p: ClientPatch,
    refresh: Refresh,
    caller: &Caller,
) -> AdminResult<ClientView> {
    let existing = editable_client(st, client_id).await?;
    let mut body = client_as_create(&existing);
    let mut keys: Vec<&str> = Vec::new();
    macro_rules! set {
        ($f:ident) => {
            if let Some(v) = p.$f.clone() {
                body.$f = v;
                keys.push(stringify!($f));
            }
        };
        (opt $f:ident) => {
            if let Some(v) = p.$f.clone() {
                body.$f = Some(v);
                keys.push(stringify!($f));
            }
        };
    }
    // Optional keys: `null` (Some(None)) clears them.
    set!(client_name);
    set!(opt token_endpoint_auth_method);
    set!(redirect_uris);
    set!(post_logout_redirect_uris);
    set!(backchannel_logout_uri);
    set!(allowed_origins);
    set!(opt grant_types);
    set!(opt scopes);
    set!(access_token_format);
    set!(opt id_token_signed_response_alg);
    set!(introspect_any);
    set!(dpop_bound_access_tokens);
    set!(jwks);
    set!(resources);
    set!(default_resource);
    set!(introspect_resources);
    set!(id_token_claims);
    set!(userinfo_claims);
    set!(access_token_claims);
    set!(opt active);
    if let Some(rt) = &p.refresh_tokens {
        let patch = RefreshOverrides::from_dto(rt, "refresh_tokens")
            .map_err(|e| AdminError::invalid(&e.field, e.message))?;
        let old = match refresh {
            Refresh::Merge => RefreshOverrides::from_dto(&body.refresh_tokens, "refresh_tokens")
                .map_err(internal)?,
            Refresh::Replace => RefreshOverrides::default(),
        };
        body.refresh_tokens = patch.over(&old).to_dto();
        keys.push("refresh_tokens");
    }
    let method = body.token_endpoint_auth_method.clone().unwrap_or_default();
    let mut new_secret = None;
    let source = match (needs_secret(&method), existing.secret_sha256) {
        (true, Some(h)) => SecretSource::Stored(h),
        (true, None) => {
            let s = generate_secret();
            new_secret = Some(s.clone());
            SecretSource::New(s)
        }
        (false, _) => SecretSource::None,
    };
    let cc = validate_client(st, &body, source)?;
    resources_exist(st, &body).await?;
    let mut client = crate::bootstrap::client_from_config(&cc, existing.created_at);
    // Where the client came from, and who manages it, do not change with its settings.
    client.dynamically_registered = existing.dynamically_registered;
    client.managed_by = existing.managed_by;
    if !st.store.update_client(&client).await? {
        // Deleted since it was read: a PATCH never brings a client back.
        return Err(no_client(client_id));
    }
    // Origins may have been removed (or the client deactivated): rebuild the set.
    crate::cors::reload_or_log(st).await;
    let ev = changed(
        EventKind::ClientChanged,
        st,
        caller,
        Some(client_id),
        None,
        serde_json::json!({"action": "updated", "changed": keys}),
    );
    record(st, ev).await?;
    Ok(client_view(&client, new_secret))
}

/// Gives a client that authenticates with a secret a new one (256 random bits) and
/// answers it: the only time it is shown (only its SHA-256 is stored). The old secret
/// stops working at once; the client's grants are kept. Records `client.changed`
/// (`action: secret_reset`), never the secret.
pub async fn reset_client_secret(
    st: &AppState,
    client_id: &str,
    caller: &Caller,
) -> AdminResult<ClientView> {
    let existing = editable_client(st, client_id).await?;
    if !needs_secret(existing.auth_method.as_str()) {
        return Err(AdminError::invalid(
            "token_endpoint_auth_method",
            format!(
                "client `{client_id}` authenticates with `{}`: it has no secret to reset",
                existing.auth_method.as_str()
            ),
        ));
    }
    let secret = generate_secret();
    let client = Client {
        secret_sha256: Some(baton_core::secret::sha256(secret.as_bytes())),
        ..existing
    };
    if !st.store.update_client(&client).await? {
        return Err(no_client(client_id));
    }
    let ev = changed(
        EventKind::ClientChanged,
        st,
        caller,
        Some(client_id),
        None,
        serde_json::json!({"action": "secret_reset"}),
    );
    record(st, ev).await?;
    Ok(client_view(&client, Some(secret)))
}

/// Deletes a client: revokes its grants (main store and cache, reason `admin`), deletes
/// every user's consent to it, then the client itself. In that order, so that a failure
/// half-way leaves a client that can be deleted again, never live grants (or consents a
/// new client with the same id would inherit) of a client that no longer exists.
pub async fn delete_client(st: &AppState, client_id: &str, caller: &Caller) -> AdminResult<()> {
    editable_client(st, client_id).await?;
    let revoked = revoke_matching(st, &GrantFilter::Client(client_id.into()), caller).await?;
    st.store.delete_consents(client_id, None).await?;
    if !st.store.delete_client(client_id).await? {
        // Deleted meanwhile by a concurrent call, which records the change.
        return Err(no_client(client_id));
    }
    crate::cors::reload_or_log(st).await;
    let ev = changed(
        EventKind::ClientChanged,
        st,
        caller,
        Some(client_id),
        None,
        serde_json::json!({"action": "deleted", "revoked": revoked}),
    );
    record(st, ev).await
}
