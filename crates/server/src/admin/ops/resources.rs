//! Resources (APIs): list (by page), read, create, change, delete. A resource managed
//! by the configuration file is read-only here (409), as configured clients are. A
//! resource that clients still name cannot be deleted (409 naming them), and a client
//! cannot name a resource that does not exist ([`check_known`]): no client refers to a
//! resource that is not there.

use super::{name_cursor, next_page, page_size, AdminError, AdminResult};
use crate::admin::views::resource_view;
use crate::caller::Caller;
use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{Client, ManagedBy, Resource};
use baton_core::resource_spec::ResourceSpec;
use baton_proto::admin::{ListQuery, Page, ResourceCreate, ResourcePatch, ResourceView};

fn no_resource(identifier: &str) -> AdminError {
    AdminError::NotFound(format!("no resource `{identifier}`"))
}

fn taken(identifier: &str) -> AdminError {
    AdminError::Conflict(format!("a resource `{identifier}` exists already"))
}

/// Refuses to change or delete a resource the configuration file manages: the next
/// start would undo the change, so it is made in the file.
fn editable(r: &Resource) -> AdminResult<()> {
    match r.managed_by {
        ManagedBy::Api => Ok(()),
        ManagedBy::Config => Err(AdminError::Conflict(format!(
            "resource `{}` is defined in the configuration file: change or remove it there \
             (the admin API and the CLI cannot change or delete it)",
            r.identifier
        ))),
    }
}

/// The ids of the clients whose `resources` list `identifier`, in `client_id` order.
fn listing(clients: &[Client], identifier: &str) -> Vec<String> {
    clients
        .iter()
        .filter(|c| c.apis.resources.iter().any(|r| r == identifier))
        .map(|c| c.client_id.clone())
        .collect()
}

/// One page of resources, in `identifier` order, each with the clients that list it.
pub async fn list_resources(st: &AppState, q: ListQuery) -> AdminResult<Page<ResourceView>> {
    let limit = page_size(q.limit)?;
    let after = name_cursor(q.cursor.as_deref())?;
    let rs = st.store.list_resources_page(after, limit + 1).await?;
    let page = next_page(rs, limit, |r| r.identifier.clone());
    let clients = if page.items.is_empty() {
        Vec::new()
    } else {
        st.store.list_clients().await?
    };
    Ok(Page {
        items: page
            .items
            .iter()
            .map(|r| resource_view(r, listing(&clients, &r.identifier)))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

async fn view(st: &AppState, r: &Resource) -> AdminResult<ResourceView> {
    let clients = st.store.list_clients().await?;
    Ok(resource_view(r, listing(&clients, &r.identifier)))
}

pub async fn get_resource(st: &AppState, identifier: &str) -> AdminResult<ResourceView> {
    match st.store.get_resource(identifier).await? {
        Some(r) => view(st, &r).await,
        None => Err(no_resource(identifier)),
    }
}

/// Validates with the one resource validator (`baton_core::resource_spec`), as a
/// configured resource is; an error names the key (`scopes[1]`, `claims[0]` …).
fn validate(spec: ResourceSpec, created: &Resource) -> AdminResult<Resource> {
    spec.validate(created.created_at, created.managed_by)
        .map_err(|e| AdminError::invalid(&e.field, e.message))
}

/// Records the change as a `resource.changed` event (who, from where, what), as
/// clients' and users' changes are.
async fn record_change(
    st: &AppState,
    action: &str,
    identifier: &str,
    caller: &Caller,
    changed: &[&str],
) -> AdminResult<()> {
    let mut details = serde_json::json!({"action": action, "identifier": identifier});
    if !changed.is_empty() {
        details["changed"] = changed.into();
    }
    let ev = super::changed(EventKind::ResourceChanged, st, caller, None, None, details);
    super::record(st, ev).await
}

/// Creates a resource (managed through the admin API from now on).
pub async fn create_resource(
    st: &AppState,
    req: ResourceCreate,
    caller: &Caller,
) -> AdminResult<ResourceView> {
    let r = ResourceSpec::from(req)
        .validate(st.clock.now(), ManagedBy::Api)
        .map_err(|e| AdminError::invalid(&e.field, e.message))?;
    // Insert-only: a concurrent create of the same identifier cannot be overwritten.
    match st.store.insert_resource(&r).await {
        Err(StoreError::Conflict(_)) => return Err(taken(&r.identifier)),
        other => other?,
    }
    record_change(st, "created", &r.identifier, caller, &[]).await?;
    view(st, &r).await
}

/// Changes a resource: the keys given replace their values (`null` clears `name`,
/// `access_token_format`, `access_token_lifetime`, `signing_alg`), and the result is
/// validated again as a whole. Tokens already issued keep what they were issued with.
pub async fn patch_resource(
    st: &AppState,
    identifier: &str,
    p: ResourcePatch,
    caller: &Caller,
) -> AdminResult<ResourceView> {
    let existing = st
        .store
        .get_resource(identifier)
        .await?
        .ok_or_else(|| no_resource(identifier))?;
    editable(&existing)?;
    let mut spec = ResourceSpec::from(&existing);
    let mut keys: Vec<&str> = Vec::new();
    macro_rules! set {
        ($f:ident) => {
            if let Some(v) = p.$f.clone() {
                spec.$f = v;
                keys.push(stringify!($f));
            }
        };
        (opt $f:ident) => {
            if let Some(v) = p.$f {
                spec.$f = Some(v);
                keys.push(stringify!($f));
            }
        };
    }
    // Optional keys: `null` (Some(None)) clears them.
    set!(name);
    set!(scopes);
    set!(scope_descriptions);
    set!(access_token_format);
    set!(access_token_lifetime);
    set!(signing_alg);
    set!(claims);
    set!(opt active);
    let r = validate(spec, &existing)?;
    if !st.store.update_resource(&r).await? {
        // Deleted since it was read: a PATCH never brings a resource back.
        return Err(no_resource(identifier));
    }
    record_change(st, "updated", identifier, caller, &keys).await?;
    view(st, &r).await
}

/// Deletes a resource no client names. Grants that hold it keep their list of
/// resources, but it can no longer be requested (`invalid_target`). While a client
/// lists it (`resources`, `introspect_resources`) the answer is 409 naming them: take
/// it out of those clients first.
pub async fn delete_resource(st: &AppState, identifier: &str, caller: &Caller) -> AdminResult<()> {
    let existing = st
        .store
        .get_resource(identifier)
        .await?
        .ok_or_else(|| no_resource(identifier))?;
    editable(&existing)?;
    let mut naming = Vec::new();
    for c in st.store.list_clients().await? {
        let lists = [
            ("resources", &c.apis.resources),
            ("introspect_resources", &c.apis.introspect_resources),
        ];
        for (key, ids) in lists {
            if ids.iter().any(|r| r == identifier) {
                naming.push(format!("{} ({key})", c.client_id));
            }
        }
    }
    if !naming.is_empty() {
        return Err(AdminError::Conflict(format!(
            "resource `{identifier}` is named by clients {}: remove it from them first",
            naming.join(", ")
        )));
    }
    if !st.store.delete_resource(identifier).await? {
        // Deleted meanwhile by a concurrent call.
        return Err(no_resource(identifier));
    }
    record_change(st, "deleted", identifier, caller, &[]).await?;
    Ok(())
}

/// Refuses (400, naming the key: `resources[1]`) an identifier in `ids` that is not a
/// stored resource. Run on a client's `resources` and `introspect_resources` as the
/// request gave them, after the client validator (so each is a well-formed URI).
pub(super) async fn check_known(st: &AppState, key: &str, ids: &[String]) -> AdminResult<()> {
    for (i, id) in ids.iter().enumerate() {
        if st.store.get_resource(id).await?.is_none() {
            return Err(AdminError::invalid(
                &format!("{key}[{i}]"),
                format!("`{id}` is not a resource (create it first: /admin/resources)"),
            ));
        }
    }
    Ok(())
}
