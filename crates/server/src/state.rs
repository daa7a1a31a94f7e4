//! What every request handler shares: configuration, stores, keys and the clock.

use crate::clock::Clock;
use crate::config::Config;
use crate::keys::Keyring;
use baton_core::model::Client;
use baton_core::policy::RefreshSettings;
use baton_core::store::{GrantStore, Store};
use baton_core::token::TokenKeys;
use baton_store::MemoryGrants;
use std::sync::{Arc, RwLock};

pub struct AppState {
    pub cfg: Config,
    pub store: Arc<dyn Store>,
    /// Where `persist = false` grants live.
    pub cache: Arc<MemoryGrants>,
    pub keys: RwLock<Arc<Keyring>>,
    pub rt_keys: TokenKeys,
    /// Keys the MAC of request handles and CSRF tokens.
    pub page_key: ring::hmac::Key,
    pub clock: Clock,
    pub logout: Arc<dyn crate::sessions::LogoutNotifier>,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The store that holds grants of this kind.
    pub fn grants(&self, cached: bool) -> &dyn GrantStore {
        if cached {
            self.cache.as_ref()
        } else {
            self.store.as_ref() as &dyn GrantStore
        }
    }

    /// The effective refresh-token settings for a client (SPEC §2.9).
    pub fn refresh_settings(&self, client: &Client) -> RefreshSettings {
        self.cfg.refresh_tokens.with(&client.refresh)
    }

    /// Lets the store finish pending writes and stop (tests restart on the same file).
    pub fn store_close(&self) {
        self.store.close();
    }

    pub fn secure_cookies(&self) -> bool {
        self.cfg.issuer.starts_with("https://")
    }
}
