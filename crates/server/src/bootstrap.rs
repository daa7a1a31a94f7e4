//! Start-up: open and migrate the store, upsert configured clients and users (marked
//! as managed by the configuration file: read-only through the admin API; an entry
//! dropped from the file is released to the admin API), make sure signing keys
//! exist, and assemble the shared state.

use crate::clock::Clock;
use crate::config::{ClientConfig, Config, UserConfig};
use crate::state::{AppState, Shared};
use baton_core::events::EventKind;
use baton_core::model::{Client, ManagedBy, Resource, User};
use baton_core::store::Store;
use baton_core::time::{Dur, Timestamp};
use baton_core::token::TokenKeys;
use std::sync::{Arc, RwLock};

/// The stored form of a client validated like a configured one, created at
/// `created_at` (managed by the admin API: `configured_client` is the file's own).
pub fn client_from_config(c: &ClientConfig, created_at: Timestamp) -> Client {
    c.to_client(created_at)
}

/// The stored form of a `[[clients]]` entry of the configuration file.
fn configured_client(c: &ClientConfig, created_at: Timestamp) -> Client {
    Client {
        managed_by: ManagedBy::Config,
        ..c.to_client(created_at)
    }
}

async fn upsert_user(store: &dyn Store, u: &UserConfig, now: Timestamp) -> Result<(), String> {
    let existing = store
        .get_user(&u.username)
        .await
        .map_err(|e| e.to_string())?;
    let password_hash = match (&u.password, &u.password_hash, &existing) {
        (_, Some(h), _) => h.clone(),
        (Some(p), None, Some(e)) if crate::users::verifies(p.expose(), &e.password_hash) => {
            e.password_hash.clone()
        }
        (Some(p), None, _) => {
            let p = p.expose().to_string();
            tokio::task::spawn_blocking(move || crate::users::hash_password(&p))
                .await
                .map_err(|e| e.to_string())??
        }
        (None, None, _) => return Err(format!("user {} has no password", u.username)),
    };
    let sub = u
        .sub
        .clone()
        .or_else(|| existing.as_ref().map(|e| e.sub.clone()))
        .unwrap_or_else(|| baton_core::random_id("u_"));
    let user = User {
        roles: u.roles.clone(),
        groups: u.groups.clone(),
        admin: u.admin,
        sub,
        username: u.username.clone(),
        password_hash,
        active: u.active,
        claims: u.claims.clone(),
        created_at: existing.map_or(now, |e| e.created_at),
        managed_by: ManagedBy::Config,
    };
    store.upsert_user(&user).await.map_err(|e| e.to_string())
}

/// Hands the clients and users the configuration file managed but no longer lists
/// over to the admin API: they stay as they are (active or not, their grants and
/// sessions too) and become editable and deletable there. Each gets a
/// `client.changed` / `user.changed` event (`action: released`) and a warning.
async fn release_dropped(store: &dyn Store, cfg: &Config, now: Timestamp) -> Result<(), String> {
    let failed = |e: baton_core::error::StoreError| e.to_string();
    let mut events = Vec::new();
    for mut c in store.list_clients().await.map_err(failed)? {
        let listed = cfg.clients.iter().any(|k| k.client_id == c.client_id);
        if c.managed_by != ManagedBy::Config || listed {
            continue;
        }
        tracing::warn!(
            client_id = %c.client_id,
            "client no longer in the configuration file: kept, now managed through the admin API"
        );
        c.managed_by = ManagedBy::Api;
        store.upsert_client(&c).await.map_err(failed)?;
        events.push(released(
            EventKind::ClientChanged,
            now,
            Some(&c.client_id),
            None,
            None,
        ));
    }
    for mut u in store.list_users().await.map_err(failed)? {
        let listed = cfg.users.iter().any(|k| k.username == u.username);
        if u.managed_by != ManagedBy::Config || listed {
            continue;
        }
        tracing::warn!(
            username = %u.username,
            "user no longer in the configuration file: kept, now managed through the admin API"
        );
        u.managed_by = ManagedBy::Api;
        store.upsert_user(&u).await.map_err(failed)?;
        events.push(released(
            EventKind::UserChanged,
            now,
            None,
            Some(&u.sub),
            Some(&u.username),
        ));
    }
    for e in &events {
        crate::grants::log_event(e);
    }
    if !events.is_empty() {
        store.insert_events(events).await.map_err(failed)?;
    }
    Ok(())
}

/// Resources the configuration file managed but no longer lists: kept (grants may
/// hold them) and managed through the admin API from now on, each with a
/// `resource.changed` event (`action: released`) and a warning.
async fn release_dropped_resources(
    store: &dyn Store,
    cfg: &Config,
    now: Timestamp,
) -> Result<(), String> {
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_resources_page(after.as_deref(), 500)
            .await
            .map_err(|e| e.to_string())?;
        for r in &page {
            let listed = cfg.resources.iter().any(|k| k.identifier == r.identifier);
            if r.managed_by != ManagedBy::Config || listed {
                continue;
            }
            tracing::warn!(
                identifier = %r.identifier,
                "resource no longer in the configuration file: kept, now managed through the admin API"
            );
            let r = Resource {
                managed_by: ManagedBy::Api,
                ..r.clone()
            };
            store.upsert_resource(&r).await.map_err(|e| e.to_string())?;
            let mut ev = released(EventKind::ResourceChanged, now, None, None, None);
            ev.details["identifier"] = r.identifier.clone().into();
            crate::grants::log_event(&ev);
            store
                .insert_events(vec![ev])
                .await
                .map_err(|e| e.to_string())?;
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.identifier.clone()),
            _ => return Ok(()),
        }
    }
}

fn released(
    kind: EventKind,
    now: Timestamp,
    client_id: Option<&str>,
    subject: Option<&str>,
    username: Option<&str>,
) -> baton_core::model::Event {
    let mut details = serde_json::json!({
        "action": "released",
        "reason": "no longer in the configuration file",
    });
    if let Some(u) = username {
        details["username"] = u.into();
    }
    crate::grants::event(
        kind,
        now,
        &crate::caller::Caller::default(),
        client_id,
        subject,
        None,
        details,
    )
}

/// Seeds the store: configured clients and users, and a signing key for every
/// algorithm that has none; answers the stored keys. Several nodes may start at once on
/// one database: each seeds under the store's bootstrap lock, so the first creates
/// what is missing (a user's random `sub`, the keys) and the others find and keep it:
/// every node ends with the same users and publishes the same keys.
async fn seed(
    cfg: &Config,
    store: &dyn Store,
    now: Timestamp,
) -> Result<Vec<baton_core::model::SigningKey>, String> {
    let _seeding = store
        .lock_bootstrap()
        .await
        .map_err(|e| format!("storage.url: {e}"))?;
    for c in &cfg.clients {
        let created = store
            .get_client(&c.client_id)
            .await
            .map_err(|e| e.to_string())?
            .map_or(now, |e| e.created_at);
        store
            .upsert_client(&configured_client(c, created))
            .await
            .map_err(|e| format!("cannot store client {}: {e}", c.client_id))?;
    }
    for u in &cfg.users {
        upsert_user(store, u, now).await?;
    }
    for r in &cfg.resources {
        let created = store
            .get_resource(&r.identifier)
            .await
            .map_err(|e| e.to_string())?
            .map_or(now, |e| e.created_at);
        let r = Resource {
            created_at: created,
            ..r.clone()
        };
        store
            .upsert_resource(&r)
            .await
            .map_err(|e| format!("cannot store resource {}: {e}", r.identifier))?;
    }
    release_dropped(store, cfg, now).await?;
    release_dropped_resources(store, cfg, now).await?;
    crate::keys::ensure(store, &cfg.secret.0, now).await
}

/// Opens the configured main store (and migrates it).
pub async fn open_store(cfg: &Config) -> Result<Arc<dyn Store>, String> {
    baton_store::open(&cfg.storage.url, cfg.storage.pool_size)
        .await
        .map_err(|e| format!("storage.url: {e}"))
}

/// Opens the cache for `persist = false` grants: Redis when `storage.cache_url` is
/// set (start-up fails if it does not answer), else process memory.
pub async fn open_cache(cfg: &Config) -> Result<baton_store::GrantCache, String> {
    let retain = cfg.cleanup.retain_revoked.millis();
    match &cfg.storage.cache_url {
        Some(url) => baton_store::GrantCache::redis(
            url,
            &cfg.storage.cache_tls,
            &cfg.storage.cache_prefix,
            retain,
        )
        .await
        .map_err(|e| format!("storage.cache_url: {e}")),
        None => Ok(baton_store::GrantCache::memory(retain)),
    }
}

/// Builds the shared state, seeding the store from configuration.
pub async fn build(cfg: Config, clock: Clock) -> Result<Shared, String> {
    let store = open_store(&cfg).await?;
    // From here on, recorded events of the kinds a webhook names are queued for it.
    store
        .set_webhook_subscriptions(crate::webhooks::subscriptions(&cfg))
        .await
        .map_err(|e| format!("cannot store the webhook subscriptions: {e}"))?;
    let stored_keys = seed(&cfg, store.as_ref(), clock.now()).await?;
    tokio::task::spawn_blocking(crate::users::warm_up)
        .await
        .map_err(|e| e.to_string())?;
    let publish_for = Dur(cfg.access_tokens.lifetime.millis() * 2);
    let keyring = crate::keys::load(&cfg.secret.0, &stored_keys, &clock, publish_for)?;
    let rt_keys = TokenKeys::from_secret(&cfg.secret.0);
    let page_key = baton_core::token::derive(&cfg.secret.0, b"baton page mac v1");
    let cache = open_cache(&cfg).await?;
    let settings = crate::admin::settings::SettingsCache::load(store.as_ref())
        .await
        .map_err(|e| format!("cannot read stored settings: {e}"))?;
    // The back-channel logout notifier lives in the state and reads it (keys, store,
    // clock) through a weak reference.
    let login_throttle = crate::throttle::LoginThrottle::new(cfg.login.clone());
    let dpop_nonces = crate::dpop::Nonces::new(&cfg.secret.0, cfg.dpop.nonce_lifetime);
    let st = Arc::new_cyclic(|weak| AppState {
        cfg,
        store,
        cache,
        keys: RwLock::new(Arc::new(keyring)),
        rt_keys,
        page_key,
        clock,
        logout: Arc::new(crate::backchannel::Backchannel::new(weak.clone())),
        settings,
        login_throttle,
        cors_origins: Default::default(),
        dpop_nonces,
        outbox: Default::default(),
    });
    crate::cors::reload(&st)
        .await
        .map_err(|e| format!("cannot read the clients' CORS origins: {e}"))?;
    Ok(st)
}
