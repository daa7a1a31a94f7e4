//! Users: list (by page), read, create, change, delete. A user managed by the
//! configuration file is read-only here: changing or deleting them answers 409.

use super::{
    changed, internal, name_cursor, next_page, page_size, record, revoke_matching, AdminError,
    AdminResult,
};
use crate::admin::views::user_view;
use crate::caller::Caller;
use crate::config::UserConfig;
use crate::state::AppState;
use baton_core::events::EventKind;
use baton_core::model::{ManagedBy, User};
use baton_core::secret::Secret;
use baton_core::store::GrantFilter;
use baton_proto::admin::{ListQuery, Page, UserCreate, UserPatch, UserView};

fn no_user(username: &str) -> AdminError {
    AdminError::NotFound(format!("no user `{username}`"))
}

/// Refuses to change or delete a user the configuration file manages: the next start
/// would undo the change, so it is made in the file.
fn editable(u: &User) -> AdminResult<()> {
    match u.managed_by {
        ManagedBy::Api => Ok(()),
        ManagedBy::Config => Err(AdminError::Conflict(format!(
            "user `{}` is defined in the configuration file: change or remove them there \
             (the admin API and the CLI cannot change or delete them)",
            u.username
        ))),
    }
}

/// One page of users, in username order (never a password or its hash).
pub async fn list_users(st: &AppState, q: ListQuery) -> AdminResult<Page<UserView>> {
    let limit = page_size(q.limit)?;
    let after = name_cursor(q.cursor.as_deref())?;
    let us = st.store.list_users_page(after, limit + 1).await?;
    let page = next_page(us, limit, |u| u.username.clone());
    Ok(Page {
        items: page.items.iter().map(user_view).collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn get_user(st: &AppState, username: &str) -> AdminResult<UserView> {
    match st.store.get_user(username).await? {
        Some(u) => Ok(user_view(&u)),
        None => Err(no_user(username)),
    }
}

/// Argon2id, off the request threads.
async fn hash(password: String) -> AdminResult<String> {
    tokio::task::spawn_blocking(move || crate::users::hash_password(&password))
        .await
        .map_err(internal)?
        .map_err(internal)
}

pub async fn create_user(st: &AppState, req: UserCreate, caller: &Caller) -> AdminResult<UserView> {
    let uc = crate::config::check_user(UserConfig {
        groups: req.groups,
        roles: req.roles,
        username: req.username,
        password: Some(Secret::new(req.password.clone())),
        password_hash: None,
        sub: None,
        active: req.active.unwrap_or(true),
        claims: req.claims,
        admin: req.admin.unwrap_or(false),
    })?;
    if st.store.get_user(&uc.username).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "a user `{}` exists already",
            uc.username
        )));
    }
    let password_hash = hash(req.password).await?;
    let user = User {
        groups: uc.groups,
        roles: uc.roles,
        admin: uc.admin,
        sub: baton_core::random_id("u_"),
        username: uc.username,
        password_hash,
        active: uc.active,
        claims: uc.claims,
        created_at: st.clock.now(),
        managed_by: ManagedBy::Api,
    };
    st.store.upsert_user(&user).await?;
    let ev = changed(
        EventKind::UserChanged,
        st,
        caller,
        None,
        Some(&user.sub),
        serde_json::json!({"action": "created", "username": user.username, "admin": user.admin}),
    );
    record(st, ev).await?;
    Ok(user_view(&user))
}

/// Changes a user: rename (the `sub` stays), password, `active`, claims, roles, groups
/// (each list replaced whole), `admin` (the operator console). A disabled
/// user's next refresh fails where `check_user_active` is on, and their browser
/// sessions end.
pub async fn patch_user(
    st: &AppState,
    username: &str,
    p: UserPatch,
    caller: &Caller,
) -> AdminResult<UserView> {
    let existing = st
        .store
        .get_user(username)
        .await?
        .ok_or_else(|| no_user(username))?;
    editable(&existing)?;
    let mut keys: Vec<&str> = Vec::new();
    let uc = crate::config::check_user(UserConfig {
        groups: p.groups.clone().unwrap_or_else(|| existing.groups.clone()),
        roles: p.roles.clone().unwrap_or_else(|| existing.roles.clone()),
        username: p
            .username
            .clone()
            .unwrap_or_else(|| existing.username.clone()),
        password: p.password.clone().map(Secret::new),
        password_hash: match p.password {
            Some(_) => None,
            None => Some(existing.password_hash.clone()),
        },
        sub: None,
        active: p.active.unwrap_or(existing.active),
        claims: p.claims.clone().unwrap_or_else(|| existing.claims.clone()),
        admin: p.admin.unwrap_or(existing.admin),
    })?;
    if uc.username != existing.username {
        if st.store.get_user(&uc.username).await?.is_some() {
            return Err(AdminError::Conflict(format!(
                "a user `{}` exists already",
                uc.username
            )));
        }
        keys.push("username");
    }
    let password_hash = match p.password {
        Some(pw) => {
            keys.push("password");
            hash(pw).await?
        }
        None => existing.password_hash.clone(),
    };
    if p.active.is_some() {
        keys.push("active");
    }
    if p.claims.is_some() {
        keys.push("claims");
    }
    if p.roles.is_some() {
        keys.push("roles");
    }
    if p.groups.is_some() {
        keys.push("groups");
    }
    if p.admin.is_some() {
        keys.push("admin");
    }
    let user = User {
        groups: uc.groups,
        roles: uc.roles,
        admin: uc.admin,
        sub: existing.sub.clone(),
        username: uc.username,
        password_hash,
        active: uc.active,
        claims: uc.claims,
        created_at: existing.created_at,
        managed_by: existing.managed_by,
    };
    st.store.upsert_user(&user).await?;
    if existing.active && !user.active {
        end_sessions(st, &user.sub).await?;
    }
    let ev = changed(
        EventKind::UserChanged,
        st,
        caller,
        None,
        Some(&user.sub),
        serde_json::json!({"action": "updated", "username": user.username, "changed": keys}),
    );
    record(st, ev).await?;
    Ok(user_view(&user))
}

/// Ends every live browser session of a user (an administrator disabled or deleted
/// them): their online grants die and their applications get back-channel logout.
async fn end_sessions(st: &AppState, sub: &str) -> AdminResult<()> {
    let now = st.clock.now();
    for s in st.store.list_live_sessions(sub, now).await? {
        crate::sessions::end(st, &s.id, "admin", now).await?;
    }
    Ok(())
}

/// Deletes a user, revokes their grants (reason `admin`) and ends their sessions.
pub async fn delete_user(st: &AppState, username: &str, caller: &Caller) -> AdminResult<()> {
    let existing = st
        .store
        .get_user(username)
        .await?
        .ok_or_else(|| no_user(username))?;
    editable(&existing)?;
    if !st.store.delete_user(username).await? {
        return Err(no_user(username));
    }
    let revoked = revoke_matching(st, &GrantFilter::Subject(existing.sub.clone()), caller).await?;
    end_sessions(st, &existing.sub).await?;
    let ev = changed(
        EventKind::UserChanged,
        st,
        caller,
        None,
        Some(&existing.sub),
        serde_json::json!({"action": "deleted", "username": username, "revoked": revoked}),
    );
    record(st, ev).await
}
