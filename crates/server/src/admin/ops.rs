//! The admin operations (SPEC §4) as plain functions over `&AppState` and proto types:
//! the HTTP handlers and the CLI both call these. Nothing here knows about HTTP.
//! Clients (`ops/clients.rs`), users (`ops/users.rs`) and resources (`ops/resources.rs`)
//! have a file each; one managed by the configuration file is read-only here (409).

mod clients;
mod resources;
mod user_access;
mod users;

pub use clients::{
    create_client, delete_client, get_client, list_clients, patch_client,
    patch_client_replacing_refresh, reset_client_secret,
};
pub use resources::{
    create_resource, delete_resource, get_resource, list_resources, patch_resource,
};
pub use user_access::{
    end_session, grant_timeline, revoke_consent, revoke_user_grant, user_by_sub, user_consents,
    user_sessions, GrantTimeline, TIMELINE_EVENTS,
};
pub use users::{create_user, delete_user, get_user, list_users, patch_user};

use super::settings::{AccessOverrides, StoredSettings};
use super::views::{event_view, grant_view, key_view};
use crate::caller::Caller;
use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{GrantId, SigAlg};
use baton_core::policy::RefreshOverrides;
use baton_core::store::{EventQuery, GrantFilter, Revocation, Settings};
use baton_core::time::{format_duration, Dur, Timestamp};
use baton_proto::admin::{
    EventListQuery, EventView, GrantListQuery, GrantView, KeyRotation, Page, RevocationRequest,
    RevocationResult,
};
use baton_proto::settings::AccessTokenSettings;
use std::sync::Arc;

/// Why an admin operation failed. `http/error.rs` maps these to statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// 400: the request is wrong; `field` names the key at fault.
    Invalid { field: String, message: String },
    /// 404: no such client, user, grant …
    NotFound(String),
    /// 409: the id is taken, or the client or user is managed by the configuration
    /// file (read-only here).
    Conflict(String),
    /// 503 (or 500 for corrupt data), like every store failure.
    Store(StoreError),
    /// 500: something that should not happen (logged, never shown).
    Internal(String),
}

impl AdminError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AdminError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Invalid { field, message } => write!(f, "{field}: {message}"),
            AdminError::NotFound(m) | AdminError::Conflict(m) | AdminError::Internal(m) => {
                f.write_str(m)
            }
            AdminError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Store(e)
    }
}

impl From<(String, String)> for AdminError {
    fn from((field, message): (String, String)) -> Self {
        AdminError::Invalid { field, message }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// An internal failure: logged here, answered as a bare `server_error`.
fn internal(detail: impl std::fmt::Display) -> AdminError {
    tracing::error!(%detail, "admin operation failed");
    AdminError::Internal(detail.to_string())
}

/// The most items one page of a list holds; the default is 100.
pub const MAX_PAGE: usize = 1000;
const DEFAULT_PAGE: usize = 100;

fn page_size(limit: Option<usize>) -> AdminResult<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(AdminError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE} (got {n})"),
        )),
    }
}

/// Stores an event and writes its log line.
async fn record(st: &AppState, ev: baton_core::model::Event) -> AdminResult<()> {
    Ok(crate::grants::record(st, ev).await?)
}

fn changed(
    kind: EventKind,
    st: &AppState,
    caller: &Caller,
    client_id: Option<&str>,
    subject: Option<&str>,
    mut details: serde_json::Value,
) -> baton_core::model::Event {
    // Who did it, when a person signed in did (the console's administrator).
    if let (Some(a), Some(d)) = (&caller.actor, details.as_object_mut()) {
        d.insert("actor".into(), a.to_json());
    }
    crate::grants::event(
        kind,
        st.clock.now(),
        caller,
        client_id,
        subject,
        None,
        details,
    )
}

/// Revokes every active grant matching `f` (main store and cache), reason `admin`.
async fn revoke_matching(st: &AppState, f: &GrantFilter, caller: &Caller) -> AdminResult<u64> {
    let why = Revocation {
        reason: "admin".into(),
        now: st.clock.now(),
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        extra_events: vec![],
        actor: caller.actor.as_ref().map(crate::caller::Actor::to_json),
    };
    Ok(crate::grants::revoke_everywhere(st, f, &why).await?.len() as u64)
}

/// Where a page of clients or users starts: after the `client_id` or username the
/// previous page ended with (its `next_cursor`).
fn name_cursor(c: Option<&str>) -> AdminResult<Option<&str>> {
    match c {
        Some(c) if c.is_empty() || c.len() > 1024 => Err(AdminError::invalid(
            "cursor",
            "is not a cursor this list gave",
        )),
        c => Ok(c),
    }
}

/// Cuts one extra item read past the page off, and answers the cursor of the next
/// page (the key of this page's last item) when there was one.
fn next_page<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_cursor }
}

// ---------------------------------------------------------------- grants

fn filter_of(client_id: Option<String>, subject: Option<String>) -> Option<GrantFilter> {
    match (client_id, subject) {
        (Some(client_id), Some(subject)) => Some(GrantFilter::ClientSubject { client_id, subject }),
        (Some(c), None) => Some(GrantFilter::Client(c)),
        (None, Some(s)) => Some(GrantFilter::Subject(s)),
        (None, None) => None,
    }
}

/// Where a page of grants starts: in the main store, or (once the main store is
/// exhausted) in the cache of `persist = false` grants.
enum GrantCursor {
    Main(Option<GrantId>),
    Cache(Option<GrantId>),
}

const CACHE_CURSOR: &str = "cache:";

fn grant_cursor(c: Option<&str>) -> AdminResult<GrantCursor> {
    let bad = || AdminError::invalid("cursor", "is not a cursor this list gave");
    Ok(match c {
        None => GrantCursor::Main(None),
        Some(c) => match c.strip_prefix(CACHE_CURSOR) {
            Some("") => GrantCursor::Cache(None),
            Some(id) => GrantCursor::Cache(Some(GrantId::parse(id).ok_or_else(bad)?)),
            None => GrantCursor::Main(Some(GrantId::parse(c).ok_or_else(bad)?)),
        },
    })
}

/// Grants, newest first: those of the main store, then those kept only in the cache
/// (`persist = false`), newest first too. Never a token value.
pub async fn list_grants(st: &AppState, q: GrantListQuery) -> AdminResult<Page<GrantView>> {
    let limit = page_size(q.limit)?;
    let cursor = grant_cursor(q.cursor.as_deref())?;
    let filter = filter_of(q.client_id, q.subject);
    let mut items = Vec::new();
    let cache_after = match cursor {
        GrantCursor::Main(after) => {
            let mut gs = st
                .store
                .list_grants(filter.as_ref(), after, limit + 1)
                .await?;
            if gs.len() > limit {
                gs.truncate(limit);
                let next_cursor = gs.last().map(|g| g.id.to_hex());
                return Ok(page(st, &gs, next_cursor));
            }
            items = gs;
            None
        }
        GrantCursor::Cache(after) => after,
    };
    let room = limit - items.len();
    let mut cached = st
        .grants(false)
        .list_grants(filter.as_ref(), cache_after, room + 1)
        .await?;
    let next_cursor = if cached.len() > room {
        cached.truncate(room);
        // Empty when the main store filled this page: the cache starts the next one.
        let last = cached.last().map(|g| g.id.to_hex()).unwrap_or_default();
        Some(format!("{CACHE_CURSOR}{last}"))
    } else {
        None
    };
    items.extend(cached);
    Ok(page(st, &items, next_cursor))
}

fn page(
    st: &AppState,
    gs: &[baton_core::model::Grant],
    next_cursor: Option<String>,
) -> Page<GrantView> {
    let now = st.clock.now();
    Page {
        items: gs.iter().map(|g| grant_view(g, now)).collect(),
        next_cursor,
    }
}

/// Revokes every grant matching the body (main store and cache), reason `admin`.
pub async fn revoke(
    st: &AppState,
    req: RevocationRequest,
    caller: &Caller,
) -> AdminResult<RevocationResult> {
    let filter = match req {
        RevocationRequest {
            grant_id: Some(g),
            client_id: None,
            subject: None,
        } => GrantFilter::Grant(
            GrantId::parse(&g)
                .ok_or_else(|| AdminError::invalid("grant_id", "is not a grant id"))?,
        ),
        RevocationRequest {
            grant_id: Some(_), ..
        } => {
            return Err(AdminError::invalid(
                "grant_id",
                "give grant_id alone, or client_id and/or subject",
            ))
        }
        RevocationRequest {
            client_id,
            subject,
            grant_id: None,
        } => filter_of(client_id, subject).ok_or_else(|| {
            AdminError::invalid("client_id", "give client_id, subject, both, or grant_id")
        })?,
    };
    let revoked = revoke_matching(st, &filter, caller).await?;
    Ok(RevocationResult { revoked })
}

// ---------------------------------------------------------------- events

/// The event log, newest first.
pub async fn list_events(st: &AppState, q: EventListQuery) -> AdminResult<Page<EventView>> {
    let limit = page_size(q.limit)?;
    let time = |field: &str, v: &Option<String>| -> AdminResult<Option<Timestamp>> {
        v.as_deref()
            .map(|s| {
                Timestamp::parse_rfc3339(s).ok_or_else(|| {
                    AdminError::invalid(
                        field,
                        "must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z",
                    )
                })
            })
            .transpose()
    };
    let since = time("since", &q.since)?;
    let until = time("until", &q.until)?;
    let grant_id = q
        .grant_id
        .as_deref()
        .map(|g| {
            GrantId::parse(g).ok_or_else(|| AdminError::invalid("grant_id", "is not a grant id"))
        })
        .transpose()?;
    if let Some(c) = &q.cursor {
        if !c.starts_with("evt_") || c.len() > 64 {
            return Err(AdminError::invalid("cursor", "is not an event id"));
        }
    }
    let mut evs = st
        .store
        .list_events(&EventQuery {
            kind: q.kind,
            client_id: q.client_id,
            subject: q.subject,
            grant_id,
            since,
            until,
            before_id: q.cursor,
            limit: limit + 1,
        })
        .await?;
    let next_cursor = if evs.len() > limit {
        evs.truncate(limit);
        evs.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(Page {
        items: evs.iter().map(event_view).collect(),
        next_cursor,
    })
}

// ---------------------------------------------------------------- settings

/// The effective server-wide settings: configuration file, then stored changes.
pub fn get_settings(st: &AppState) -> Settings {
    let at = st.access_tokens();
    Settings {
        refresh_tokens: st.server_refresh_settings().to_dto(),
        access_tokens: AccessTokenSettings {
            lifetime: Some(format_duration(at.lifetime)),
            format: Some(at.format.as_str().into()),
            signing_alg: Some(at.signing_alg.as_str().into()),
        },
    }
}

/// Validates a PATCH like the configuration file, stores it merged with what was stored
/// (every node picks it up within [`super::settings::REFRESH_EVERY`]; this node at once)
/// and answers the new effective settings.
pub async fn patch_settings(st: &AppState, p: Settings, caller: &Caller) -> AdminResult<Settings> {
    let bad = |e: baton_core::policy::FieldError| AdminError::invalid(&e.field, e.message);
    let refresh = RefreshOverrides::from_dto(&p.refresh_tokens, "refresh_tokens").map_err(bad)?;
    let access = AccessOverrides::from_dto(&p.access_tokens).map_err(bad)?;
    let old = super::settings::stored(st.store.as_ref()).await?;
    let merged = StoredSettings {
        refresh: refresh.over(&old.refresh),
        access: access.over(&old.access),
    };
    st.cfg
        .refresh_tokens
        .with(&merged.refresh)
        .validate(&merged.refresh, "refresh_tokens")
        .map_err(bad)?;
    st.store
        .put_settings(&merged.to_wire(), st.clock.now())
        .await?;
    let lifetime_changed = merged.access.lifetime != old.access.lifetime;
    st.settings.set(merged);
    if lifetime_changed {
        // Retired keys stay published for twice the access-token lifetime.
        reload_keys(st).await?;
    }
    let ev = changed(
        EventKind::SettingsChanged,
        st,
        caller,
        None,
        None,
        serde_json::json!({"refresh_tokens": p.refresh_tokens, "access_tokens": p.access_tokens}),
    );
    record(st, ev).await?;
    Ok(get_settings(st))
}

// ---------------------------------------------------------------- keys

/// A new signing key for every algorithm, published in JWKS at once; the previous keys
/// keep signing for `signing_keys.pre_publication` (so relying parties with a cached
/// JWKS have fetched the new keys before they meet them), are retired then, and stay in
/// JWKS (and verify) until the tokens they signed have expired. A key already scheduled
/// to retire later (an earlier rotation's delay still running) retires at the earlier of
/// the two times. Reloads this node's
/// keyring; other nodes reload within a few seconds and switch at the same time.
pub async fn rotate_keys(st: &AppState, caller: &Caller) -> AdminResult<KeyRotation> {
    let now = st.clock.now();
    let old = st.store.list_keys().await?;
    let mut active = Vec::new();
    for alg in SigAlg::ALL {
        let secret = st.cfg.secret.0.clone();
        // RSA generation takes a while: keep it off the request threads.
        let k = tokio::task::spawn_blocking(move || crate::keys::new_key(&secret, alg, now))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        st.store.insert_key(&k).await?;
        active.push(key_view(&k));
    }
    let mut retired = Vec::new();
    let switch_at = now.plus(st.cfg.signing_keys.pre_publication);
    // Every key still on duty at the switch retires then, also one whose retirement an
    // earlier rotation scheduled later: an emergency rotation (`0s`) inside that
    // rotation's delay must stop the old key now, not when its first delay ends.
    let on_duty = |k: &baton_core::model::SigningKey| k.retired_at.is_none_or(|r| r > switch_at);
    for mut k in old.into_iter().filter(on_duty) {
        st.store.retire_key(&k.kid, switch_at).await?;
        k.retired_at = Some(switch_at);
        retired.push(key_view(&k));
    }
    reload_keys(st).await?;
    let ev = changed(
        EventKind::KeysRotated,
        st,
        caller,
        None,
        None,
        serde_json::json!({
            "active": active.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
            "retired": retired.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
        }),
    );
    record(st, ev).await?;
    Ok(KeyRotation { active, retired })
}

/// How long a retired key stays published (and verifies): twice the longest
/// access-token lifetime in use.
pub fn retired_key_published_for(st: &AppState) -> Dur {
    let longest = st
        .cfg
        .access_tokens
        .lifetime
        .max(st.access_tokens().lifetime);
    Dur(longest.millis() * 2)
}

/// Rebuilds this node's keyring from the store.
pub async fn reload_keys(st: &AppState) -> AdminResult<()> {
    let stored = st.store.list_keys().await?;
    let publish_for = retired_key_published_for(st);
    let ring =
        crate::keys::load(&st.cfg.secret.0, &stored, &st.clock, publish_for).map_err(internal)?;
    match st.keys.write() {
        Ok(mut k) => *k = Arc::new(ring),
        Err(poisoned) => *poisoned.into_inner() = Arc::new(ring),
    }
    Ok(())
}
