//! Which browser origins may call the token endpoints cross-origin (CORS), as the
//! service layer knows them; `http/cors.rs` turns that into headers.
//!
//! A client's origins are its `allowed_origins`, plus, when `http.cors_from_redirect_uris`
//! is on, the origins of its redirect URIs that could be origins themselves (https, or
//! http on loopback). An actual request is allowed for the client that authenticated in
//! it (or the access token's client, for `/userinfo`). A preflight carries no
//! credentials, so it is allowed when the origin belongs to some active client: each
//! node keeps that set in memory, reloaded from the store every
//! `admin::settings::REFRESH_EVERY` and at once after this node's own client writes.

use crate::config::Config;
use crate::state::AppState;
use baton_core::client_spec::check_origin;
use baton_core::error::StoreError;
use baton_core::model::Client;
use std::collections::HashSet;
use std::sync::RwLock;

/// The origins the client allows, under the server's configuration.
pub fn client_origins(cfg: &Config, c: &Client) -> Vec<String> {
    let mut out = c.allowed_origins.clone();
    if cfg.http.cors_from_redirect_uris {
        for u in &c.redirect_uris {
            let Ok(url) = url::Url::parse(u) else {
                continue;
            };
            let o = url.origin().ascii_serialization();
            if check_origin(&o).is_ok() && !out.contains(&o) {
                out.push(o);
            }
        }
    }
    out
}

/// The origins some active client allows (this node's copy).
#[derive(Default)]
pub struct KnownOrigins(RwLock<HashSet<String>>);

impl KnownOrigins {
    pub fn contains(&self, origin: &str) -> bool {
        match self.0.read() {
            Ok(s) => s.contains(origin),
            Err(p) => p.into_inner().contains(origin),
        }
    }

    fn replace(&self, set: HashSet<String>) {
        match self.0.write() {
            Ok(mut s) => *s = set,
            Err(p) => *p.into_inner() = set,
        }
    }

    /// Adds a new client's origins (a registration: nothing is removed).
    pub fn add(&self, cfg: &Config, c: &Client) {
        if !c.active {
            return;
        }
        let origins = client_origins(cfg, c);
        if origins.is_empty() {
            return;
        }
        match self.0.write() {
            Ok(mut s) => s.extend(origins),
            Err(p) => p.into_inner().extend(origins),
        }
    }
}

/// Rebuilds this node's set from the stored clients.
pub async fn reload(st: &AppState) -> Result<(), StoreError> {
    let clients = st.store.list_clients().await?;
    let set = clients
        .iter()
        .filter(|c| c.active)
        .flat_map(|c| client_origins(&st.cfg, c))
        .collect();
    st.cors_origins.replace(set);
    Ok(())
}

/// [`reload`], logging a failure: the previous set stays until the next reload.
pub async fn reload_or_log(st: &AppState) {
    if let Err(e) = reload(st).await {
        tracing::warn!(error = %e, "cannot reload the allowed CORS origins; keeping the last ones");
    }
}
