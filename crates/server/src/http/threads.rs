//! The request threads: `http.threads` of them (one per core by default), each running
//! an event loop of its own (a single-threaded Tokio runtime) that serves the
//! connections handed to it ([`super::listener`]). A connection stays on its thread for
//! its whole life, so a request's work never moves between threads: with one runtime
//! whose workers share all connections, the wake-ups and task stealing between workers
//! cost a durable refresh about a fifth more CPU (BENCHMARKS.md).
//!
//! The first request thread is the one that calls [`serve`]; it also accepts the
//! connections and runs the server's background jobs. The others are threads of their
//! own, named `baton-http-N`.

use super::listener::{self, Incoming, TlsListener};
use axum::serve::ListenerExt;
use axum::Router;
use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;

/// How long a stopping request thread waits for its blocking work (password hashing,
/// key generation) before it lets go of it.
const BLOCKING_GRACE: Duration = Duration::from_secs(5);

/// The request threads, serving.
pub struct Serving {
    stop: watch::Sender<()>,
    acceptor: JoinHandle<()>,
    first: JoinHandle<()>,
    others: Vec<oneshot::Receiver<()>>,
}

/// Serves `app` on `listener` with `threads` request threads (at least one), over TLS
/// when `tls` is given. Must be called on a Tokio runtime, which becomes the first
/// request thread. An error if a thread or its runtime cannot be made.
pub fn serve(
    app: Router,
    tcp: TcpListener,
    threads: usize,
    tls: Option<Arc<ServerConfig>>,
) -> io::Result<Serving> {
    let local = tcp.local_addr()?;
    let (stop, stopped) = watch::channel(());
    let mut lanes = Vec::with_capacity(threads);
    let mut first = None;
    let mut others = Vec::with_capacity(threads.saturating_sub(1));
    for i in 0..threads.max(1) {
        let (lane, incoming) = listener::lane(local);
        lanes.push(lane);
        let work = serve_lane(incoming, app.clone(), tls.clone(), stopped.clone());
        if i == 0 {
            first = Some(tokio::spawn(work));
            continue;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done, finished) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("baton-http-{i}"))
            .spawn(move || {
                rt.block_on(work);
                rt.shutdown_timeout(BLOCKING_GRACE);
                let _ = done.send(());
            })?;
        others.push(finished);
    }
    let acceptor = tokio::spawn(listener::accept_loop(tcp, lanes, stopped));
    let first = first.ok_or_else(|| io::Error::other("no request thread"))?;
    Ok(Serving {
        stop,
        acceptor,
        first,
        others,
    })
}

impl Serving {
    /// Stops accepting, lets every request thread finish its in-flight requests, and
    /// waits for them all. (Dropping a `Serving` stops it too, without waiting.)
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.acceptor.await;
        let _ = self.first.await;
        for finished in self.others {
            let _ = finished.await;
        }
    }
}

/// One request thread's server: `axum::serve` on the connections handed to it, until
/// `stop` fires or its sender is gone.
async fn serve_lane(
    incoming: Incoming,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    mut stop: watch::Receiver<()>,
) {
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    let stopped = async move {
        let _ = stop.changed().await;
    };
    // `tap_io` does nothing to a connection; it is how axum hands a custom listener's
    // peer address to `ConnectInfo<SocketAddr>`.
    let served = match tls {
        None => {
            axum::serve(incoming.tap_io(|_| {}), make)
                .with_graceful_shutdown(stopped)
                .into_future()
                .await
        }
        Some(config) => {
            axum::serve(TlsListener::new(incoming, config).tap_io(|_| {}), make)
                .with_graceful_shutdown(stopped)
                .into_future()
                .await
        }
    };
    if let Err(e) = served {
        tracing::error!(error = %e, "a request thread stopped serving");
    }
}
