//! Baton's server: configuration, the service layer (read the clock, call the domain,
//! apply its decision), HTTP routes and pages.

pub mod admin;
pub mod backchannel;
pub mod best_effort;
pub mod bootstrap;
pub mod caller;
pub mod cleanup;
pub mod clock;
pub mod config;
pub mod console;
pub mod cors;
pub mod demo;
pub mod dpop;
pub mod grants;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod metrics;
pub mod outbound;
pub mod outbox;
pub mod pages;
pub mod proxies;
pub mod resources;
pub mod sessions;
pub mod state;
pub mod tasks;
pub mod throttle;
pub mod timeline;
pub mod tls;
pub mod tokens;
pub mod users;
pub mod webhooks;

use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Shared,
    tls: Option<Arc<tls::Certificates>>,
    serving: http::threads::Serving,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, and waits.
    pub async fn stop(self) {
        self.serving.stop().await;
    }

    /// The certificates served, when serving TLS.
    pub fn tls(&self) -> Option<&Arc<tls::Certificates>> {
        self.tls.as_ref()
    }

    /// Reloads the TLS certificate and key (what SIGHUP does), logging the outcome.
    /// Answers whether it reloaded; `None` when not serving TLS.
    pub fn reload_tls(&self, why: &str) -> Option<bool> {
        self.tls.as_ref().map(|c| c.reload_and_log(why))
    }
}

/// Starts serving `state` on `listener` in the background, with `http.threads` request
/// threads ([`http::threads`]; the calling runtime is the first): plain HTTP, or HTTPS
/// when `http.tls_cert_file` is set (an error if its certificate or key cannot be
/// loaded, or a request thread cannot be started).
pub fn start(state: Shared, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let certs = match &state.cfg.http.tls {
        Some(files) => Some(tls::Certificates::load(files).map_err(std::io::Error::other)?),
        None => None,
    };
    let config = match &certs {
        Some(c) => Some(c.server_config().map_err(std::io::Error::other)?),
        None => None,
    };
    let app = http::router(state.clone());
    let serving = http::threads::serve(app, listener, state.cfg.http.threads, config)?;
    if let Some(c) = &certs {
        tls::spawn_watch(c);
    }
    spawn_maintenance(state.clone());
    admin::settings::spawn_refresh(state.clone());
    outbox::spawn(&state);
    Ok(Running {
        addr,
        state,
        tls: certs,
        serving,
    })
}

/// Periodic upkeep, every `sessions.expiry_check_interval` (default 30 s): drops expired
/// cached grants and ends browser sessions whose expiry has passed (which revokes the
/// grants bound to them and sends back-channel logout, like any other session end).
/// And the cleanup job ([`cleanup`]) every `cleanup.interval` (default 1 h).
fn spawn_maintenance(state: Shared) {
    let weak = std::sync::Arc::downgrade(&state);
    let every_ms = state.cfg.sessions.expiry_check_interval.millis().max(100);
    let cleanup_ms = state.cfg.cleanup.interval.millis().max(100);
    drop(state);
    // The cleanup job, every `cleanup.interval`, in its own task so that a long run
    // never delays session expiry.
    let weak_cleanup = weak.clone();
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(std::time::Duration::from_millis(cleanup_ms.unsigned_abs()));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(st) = weak_cleanup.upgrade() else {
                break;
            };
            cleanup::run_and_log(&st).await;
        }
    });
    tokio::spawn(async move {
        let period = std::time::Duration::from_millis(every_ms.unsigned_abs());
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(st) = weak.upgrade() else { break };
            let now = st.clock.now();
            // Grants of the in-process cache dead past `cleanup.retain_revoked` (Redis
            // expires its own keys, and counts nothing here).
            crate::metrics::record_cleanup("cache", st.cache.sweep(now) as u64);
            end_expired_sessions(&st, now).await;
            // Expired codes, revoked JWT ids and reference tokens, in bounded batches.
            match st.store.purge_expired(now, 1000).await {
                Ok(n) => crate::metrics::record_cleanup("expired_records", n),
                Err(e) => tracing::warn!(error = %e, "purging expired records failed; will retry"),
            }
        }
    });
}

/// Ends every live session whose expiry has passed, in batches. Answers how many ended.
pub async fn end_expired_sessions(st: &state::AppState, now: baton_core::time::Timestamp) -> usize {
    const BATCH: usize = 100;
    let mut ended = 0;
    // Bounded: a store that keeps answering the same sessions cannot spin forever.
    for _ in 0..100 {
        let expired = match st.store.list_expired_sessions(now, BATCH).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list expired sessions");
                return ended;
            }
        };
        let n = expired.len();
        for s in expired {
            match sessions::end(st, &s.id, "expired", now).await {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot end an expired session");
                    return ended;
                }
            }
        }
        if n < BATCH {
            break;
        }
    }
    ended
}
