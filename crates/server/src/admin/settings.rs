//! Server-wide settings changed through the admin API (SPEC §2.9, §4): stored in the
//! main store so that every node applies them, and read through a small in-process
//! cache so that the token path never waits on the store for them.
//!
//! Staleness is bounded: every node re-reads the stored settings every
//! [`REFRESH_EVERY`] (5 s); the node that took the PATCH applies it at once. So a change
//! reaches every node of a PostgreSQL cluster within 5 s. Grants created meanwhile on
//! another node get the previous values, which they keep (settings are fixed when a
//! grant is created). The same task reloads the signing keys when another node has
//! rotated them, and the set of clients' CORS origins (`crate::cors`).

use crate::config::AccessTokenConfig;
use baton_core::error::StoreError;
use baton_core::model::{SigAlg, TokenFormat};
use baton_core::policy::{FieldError, RefreshOverrides};
use baton_core::store::{Settings, Store};
use baton_core::time::{format_duration, parse_duration, Dur};
use baton_proto::settings::AccessTokenSettings;
use std::sync::RwLock;
use std::time::Duration;

/// How often each node re-reads the stored settings (and checks for rotated keys).
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// Stored `[access_tokens]` changes: each `Some` replaces the configured value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessOverrides {
    pub lifetime: Option<Dur>,
    pub format: Option<TokenFormat>,
    pub signing_alg: Option<SigAlg>,
}

impl AccessOverrides {
    /// Parses and validates the wire shape like the configuration file does.
    pub fn from_dto(d: &AccessTokenSettings) -> Result<Self, FieldError> {
        let mut o = AccessOverrides::default();
        if let Some(l) = &d.lifetime {
            let v = parse_duration(l).map_err(|m| FieldError::new("access_tokens.lifetime", m))?;
            if v <= Dur::ZERO {
                return Err(FieldError::new(
                    "access_tokens.lifetime",
                    "must be positive",
                ));
            }
            o.lifetime = Some(v);
        }
        if let Some(f) = &d.format {
            o.format = Some(TokenFormat::parse(f).ok_or_else(|| {
                FieldError::new(
                    "access_tokens.format",
                    format!("unknown format `{f}`: expected jwt or reference"),
                )
            })?);
        }
        if let Some(a) = &d.signing_alg {
            o.signing_alg = Some(SigAlg::parse(a).ok_or_else(|| {
                FieldError::new(
                    "access_tokens.signing_alg",
                    format!("unknown algorithm `{a}`: expected ES256, RS256 or EdDSA"),
                )
            })?);
        }
        Ok(o)
    }

    pub fn to_dto(&self) -> AccessTokenSettings {
        AccessTokenSettings {
            lifetime: self.lifetime.map(format_duration),
            format: self.format.map(|f| f.as_str().into()),
            signing_alg: self.signing_alg.map(|a| a.as_str().into()),
        }
    }

    /// `self` laid over `other`.
    pub fn over(&self, other: &AccessOverrides) -> AccessOverrides {
        AccessOverrides {
            lifetime: self.lifetime.or(other.lifetime),
            format: self.format.or(other.format),
            signing_alg: self.signing_alg.or(other.signing_alg),
        }
    }

    /// The configured settings with these on top.
    pub fn apply(&self, cfg: &AccessTokenConfig) -> AccessTokenConfig {
        AccessTokenConfig {
            lifetime: self.lifetime.unwrap_or(cfg.lifetime),
            format: self.format.unwrap_or(cfg.format),
            signing_alg: self.signing_alg.unwrap_or(cfg.signing_alg),
        }
    }
}

/// What the store holds, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredSettings {
    pub refresh: RefreshOverrides,
    pub access: AccessOverrides,
}

impl StoredSettings {
    pub fn to_wire(&self) -> Settings {
        Settings {
            refresh_tokens: self.refresh.to_dto(),
            access_tokens: self.access.to_dto(),
        }
    }
}

/// The stored server-wide overrides, laid between the configuration file and each
/// client's own overrides.
#[derive(Default, Debug)]
pub struct SettingsCache {
    stored: RwLock<StoredSettings>,
}

impl SettingsCache {
    pub fn get(&self) -> StoredSettings {
        match self.stored.read() {
            Ok(o) => o.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The stored refresh-token overrides.
    pub fn overrides(&self) -> RefreshOverrides {
        self.get().refresh
    }

    pub fn set(&self, s: StoredSettings) {
        match self.stored.write() {
            Ok(mut g) => *g = s,
            Err(poisoned) => *poisoned.into_inner() = s,
        }
    }

    /// A cache filled from the store (start-up).
    pub async fn load(store: &dyn Store) -> Result<SettingsCache, StoreError> {
        let c = SettingsCache::default();
        c.set(stored(store).await?);
        Ok(c)
    }
}

/// The stored settings; stored values that no longer parse are ignored with a warning
/// (they were validated when stored).
pub async fn stored(store: &dyn Store) -> Result<StoredSettings, StoreError> {
    let Some(s) = store.get_settings().await? else {
        return Ok(StoredSettings::default());
    };
    let refresh = RefreshOverrides::from_dto(&s.refresh_tokens, "refresh_tokens");
    let access = AccessOverrides::from_dto(&s.access_tokens);
    match (refresh, access) {
        (Ok(refresh), Ok(access)) => Ok(StoredSettings { refresh, access }),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "stored settings are invalid; ignoring them");
            Ok(StoredSettings::default())
        }
    }
}

/// Which keys the store holds and which are retired: a change means another node
/// rotated them.
async fn key_marks(store: &dyn Store) -> Result<Vec<(String, Option<i64>)>, StoreError> {
    Ok(store
        .list_keys()
        .await?
        .into_iter()
        .map(|k| (k.kid, k.retired_at.map(|t| t.0)))
        .collect())
}

/// Every [`REFRESH_EVERY`] while the state lives: re-reads the stored settings, and
/// reloads the keyring when the stored keys changed (a rotation on another node).
pub fn spawn_refresh(state: crate::state::Shared) {
    let weak = std::sync::Arc::downgrade(&state);
    drop(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut marks = None;
        loop {
            tick.tick().await;
            let Some(st) = weak.upgrade() else { break };
            if marks.is_none() {
                // The keys as loaded at start-up.
                marks = key_marks(st.store.as_ref()).await.ok();
                continue;
            }
            crate::cors::reload_or_log(&st).await;
            match stored(st.store.as_ref()).await {
                Ok(s) => st.settings.set(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-read stored settings; keeping the last ones")
                }
            }
            let Ok(now_marks) = key_marks(st.store.as_ref()).await else {
                continue;
            };
            if marks.as_ref() != Some(&now_marks) {
                match super::ops::reload_keys(&st).await {
                    Ok(()) => {
                        tracing::info!("signing keys changed in the store; reloaded");
                        marks = Some(now_marks);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot reload signing keys"),
                }
            }
        }
    });
}
