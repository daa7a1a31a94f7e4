//! Start-up: open and migrate the store, upsert configured clients and users, make
//! sure signing keys exist, and assemble the shared state.

use crate::clock::Clock;
use crate::config::{ClientConfig, Config, UserConfig};
use crate::state::{AppState, Shared};
use baton_core::model::{Client, User};
use baton_core::store::Store;
use baton_core::time::{Dur, Timestamp};
use baton_core::token::TokenKeys;
use std::sync::{Arc, RwLock};

/// The stored form of a configured client, created at `created_at`.
pub fn client_from_config(c: &ClientConfig, created_at: Timestamp) -> Client {
    c.to_client(created_at)
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
        sub,
        username: u.username.clone(),
        password_hash,
        active: u.active,
        claims: u.claims.clone(),
        created_at: existing.map_or(now, |e| e.created_at),
    };
    store.upsert_user(&user).await.map_err(|e| e.to_string())
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
        Some(url) => baton_store::GrantCache::redis(url, &cfg.storage.cache_prefix, retain)
            .await
            .map_err(|e| format!("storage.cache_url: {e}")),
        None => Ok(baton_store::GrantCache::memory(retain)),
    }
}

/// Builds the shared state, seeding the store from configuration.
pub async fn build(cfg: Config, clock: Clock) -> Result<Shared, String> {
    let store = open_store(&cfg).await?;
    let now = clock.now();
    // From here on, recorded events of the kinds a webhook names are queued for it.
    store
        .set_webhook_subscriptions(crate::webhooks::subscriptions(&cfg))
        .await
        .map_err(|e| format!("cannot store the webhook subscriptions: {e}"))?;
    for c in &cfg.clients {
        let created = store
            .get_client(&c.client_id)
            .await
            .map_err(|e| e.to_string())?
            .map_or(now, |e| e.created_at);
        store
            .upsert_client(&client_from_config(c, created))
            .await
            .map_err(|e| format!("cannot store client {}: {e}", c.client_id))?;
    }
    for u in &cfg.users {
        upsert_user(store.as_ref(), u, now).await?;
    }
    tokio::task::spawn_blocking(crate::users::warm_up)
        .await
        .map_err(|e| e.to_string())?;
    let stored_keys = crate::keys::ensure(store.as_ref(), &cfg.secret.0, now).await?;
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
        outbox: Default::default(),
    });
    crate::cors::reload(&st)
        .await
        .map_err(|e| format!("cannot read the clients' CORS origins: {e}"))?;
    Ok(st)
}
