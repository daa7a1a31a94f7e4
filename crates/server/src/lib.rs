//! Baton's server: configuration, the service layer (read the clock, call the domain,
//! apply its decision), HTTP routes and pages.

pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod demo;
pub mod grants;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod pages;
pub mod sessions;
pub mod state;
pub mod tokens;
pub mod users;

use state::Shared;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests, and waits.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts serving `state` on `listener` in the background.
pub fn start(state: Shared, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let app = http::router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    spawn_maintenance(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await
    });
    Ok(Running {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// Periodic upkeep: drops expired cached grants.
fn spawn_maintenance(state: Shared) {
    let weak = std::sync::Arc::downgrade(&state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            let Some(st) = weak.upgrade() else { break };
            st.cache.sweep(st.clock.now());
        }
    });
}
