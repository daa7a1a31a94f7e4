//! The request threads: `http.threads` of them (one per core by default), each running
//! an event loop of its own (a single-threaded Tokio runtime) that serves the
//! connections handed to it ([`super::listener`]). A connection stays on its thread for
//! its whole life, so a request's own work never moves between threads: with one
//! runtime whose workers share all connections, the wake-ups and task stealing between
//! workers cost a durable refresh about a fifth more CPU (BENCHMARKS.md). (A pooled
//! PostgreSQL or Redis connection is driven by the runtime of the thread that opened
//! it, whichever thread's request uses it: so every runtime runs until all threads
//! have served, see [`Serving::stop`].)
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
    /// Lets the other request threads' runtimes end, once every thread has served.
    release: watch::Sender<()>,
    acceptor: JoinHandle<()>,
    first: JoinHandle<()>,
    others: Vec<Other>,
}

/// A request thread besides the first: when it has served its last request, and when
/// its runtime has ended.
struct Other {
    served: oneshot::Receiver<()>,
    ended: oneshot::Receiver<()>,
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
    let (release, released) = watch::channel(());
    let (lane, incoming) = listener::lane(local);
    let mut lanes = vec![lane];
    let first = tokio::spawn(serve_lane(
        incoming,
        app.clone(),
        tls.clone(),
        stopped.clone(),
    ));
    let mut others = Vec::with_capacity(threads.saturating_sub(1));
    for i in 1..threads {
        let (lane, incoming) = listener::lane(local);
        lanes.push(lane);
        let work = serve_lane(incoming, app.clone(), tls.clone(), stopped.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (served_tx, served) = oneshot::channel();
        let (ended_tx, ended) = oneshot::channel();
        let mut released = released.clone();
        std::thread::Builder::new()
            .name(format!("baton-http-{i}"))
            .spawn(move || {
                rt.block_on(async move {
                    work.await;
                    let _ = served_tx.send(());
                    // The runtime keeps running until every request thread has served
                    // its last request: what this thread opened (a pooled database
                    // connection, whose socket this runtime drives) may be in use by
                    // another thread's request.
                    let _ = released.changed().await;
                });
                rt.shutdown_timeout(BLOCKING_GRACE);
                let _ = ended_tx.send(());
            })?;
        others.push(Other { served, ended });
    }
    let acceptor = tokio::spawn(listener::accept_loop(tcp, lanes, stopped));
    Ok(Serving {
        stop,
        release,
        acceptor,
        first,
        others,
    })
}

impl Serving {
    /// Stops accepting, lets every request thread finish its in-flight requests, then
    /// ends the runtimes of the threads besides the first and waits for them. (Dropping
    /// a `Serving` stops it too, without waiting, and each runtime ends as soon as its
    /// own thread has served.)
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.acceptor.await;
        let _ = self.first.await;
        let mut others = self.others;
        for other in &mut others {
            let _ = (&mut other.served).await;
        }
        drop(self.release);
        for other in others {
            let _ = other.ended.await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::get;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::mpsc;

    /// Where `/use` sends its pings.
    type Pings = Arc<Mutex<Option<mpsc::UnboundedSender<oneshot::Sender<()>>>>>;

    /// `/open` starts, on the runtime of the thread serving it, a task that answers
    /// pings (as a pooled database connection's socket is driven by a task on the
    /// runtime that opened it). `/use` waits 300 ms, then pings that task: 200 if it
    /// answered, 503 if it is gone.
    fn app(pings: Pings) -> Router {
        Router::new()
            .route(
                "/open",
                get(|State(p): State<Pings>| async move {
                    let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
                    tokio::spawn(async move {
                        while let Some(reply) = rx.recv().await {
                            let _ = reply.send(());
                        }
                    });
                    *p.lock().unwrap() = Some(tx);
                    StatusCode::OK
                }),
            )
            .route(
                "/use",
                get(|State(p): State<Pings>| async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let (reply, answered) = oneshot::channel();
                    let sent = p.lock().unwrap().as_ref().map(|tx| tx.send(reply).is_ok());
                    match (sent, answered.await) {
                        (Some(true), Ok(())) => StatusCode::OK,
                        _ => StatusCode::SERVICE_UNAVAILABLE,
                    }
                }),
            )
            .with_state(pings)
    }

    async fn send(conn: &mut TcpStream, path: &str) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        conn.write_all(req.as_bytes()).await.unwrap();
    }

    /// The status line of the next response on `conn`.
    async fn status(conn: &mut TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
                .await
                .expect("a response within 5 s")
                .unwrap();
            assert!(n > 0, "connection closed before a response");
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got);
        text.lines().next().unwrap_or_default().to_string()
    }

    #[tokio::test]
    async fn a_thread_that_has_served_keeps_its_runtime_until_every_thread_has() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let serving = serve(app(Pings::default()), tcp, 2, None).unwrap();
        // Connections go to the thread with the fewest open ones, the first thread
        // (this test's runtime) first: `idle` there, `opener` on the second thread,
        // `user` on the first again.
        let _idle = TcpStream::connect(addr).await.unwrap();
        let mut opener = TcpStream::connect(addr).await.unwrap();
        send(&mut opener, "/open").await;
        assert_eq!(status(&mut opener).await, "HTTP/1.1 200 OK");
        let mut user = TcpStream::connect(addr).await.unwrap();
        send(&mut user, "/use").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Stopping while `/use` is in flight on the first thread: the second has
        // nothing in flight and is done serving at once, but its runtime, which drives
        // what `/use` needs, runs until `/use` has been answered.
        let stopped = tokio::spawn(serving.stop());
        assert_eq!(status(&mut user).await, "HTTP/1.1 200 OK");
        tokio::time::timeout(Duration::from_secs(5), stopped)
            .await
            .expect("stopped within 5 s")
            .unwrap();
        // Nothing is accepted any more.
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
