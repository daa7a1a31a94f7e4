//! What every request handler shares: configuration, stores, keys and the clock.

use crate::clock::Clock;
use crate::config::Config;
use crate::keys::Keyring;
use baton_core::model::Client;
use baton_core::policy::RefreshSettings;
use baton_core::store::{GrantStore, Store};
use baton_core::token::TokenKeys;
use baton_store::GrantCache;
use std::sync::{Arc, RwLock};

pub struct AppState {
    pub cfg: Config,
    pub store: Arc<dyn Store>,
    /// Where `persist = false` grants live: Redis or process memory.
    pub cache: GrantCache,
    pub keys: RwLock<Arc<Keyring>>,
    pub rt_keys: TokenKeys,
    /// Keys the MAC of request handles and CSRF tokens.
    pub page_key: ring::hmac::Key,
    pub clock: Clock,
    pub logout: Arc<dyn crate::sessions::LogoutNotifier>,
    /// Server-wide settings stored through the admin API (refreshed every few seconds).
    pub settings: crate::admin::settings::SettingsCache,
    /// Failed sign-ins per account and client address (this node's memory).
    pub login_throttle: crate::throttle::LoginThrottle,
    /// The origins some active client allows for CORS (this node's copy, see `cors`).
    pub cors_origins: crate::cors::KnownOrigins,
    /// The DPoP nonces this server gives and accepts.
    pub dpop_nonces: crate::dpop::Nonces,
    /// This node's outbox worker: its claim owner and wake-up (see `outbox`).
    pub outbox: crate::outbox::Outbox,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The store that holds grants of this `persist`: the main store, else the cache.
    pub fn grants(&self, persist: bool) -> &dyn GrantStore {
        if persist {
            self.store.as_ref() as &dyn GrantStore
        } else {
            self.cache.grants()
        }
    }

    /// The effective refresh-token settings for a client (SPEC §2.9): the configuration
    /// file, then the settings stored through the admin API, then the client's own.
    pub fn refresh_settings(&self, client: &Client) -> RefreshSettings {
        self.server_refresh_settings().with(&client.refresh)
    }

    /// The effective `[access_tokens]` settings: the configuration file with the stored
    /// admin changes laid over it.
    pub fn access_tokens(&self) -> crate::config::AccessTokenConfig {
        self.settings.get().access.apply(&self.cfg.access_tokens)
    }

    /// The effective server-wide refresh-token settings: the configuration file with the
    /// stored admin changes laid over it (at most `admin::settings::REFRESH_EVERY` old).
    pub fn server_refresh_settings(&self) -> RefreshSettings {
        self.cfg.refresh_tokens.with(&self.settings.overrides())
    }

    /// Lets the store finish pending writes and stop (tests restart on the same file).
    pub fn store_close(&self) {
        self.store.close();
    }

    pub fn secure_cookies(&self) -> bool {
        self.cfg.issuer.starts_with("https://")
    }
}
