//! Where connections come from. One task accepts every TCP connection ([`accept_loop`])
//! and hands it to the request thread with the fewest open connections; each request
//! thread serves what it was handed ([`Incoming`]), over TLS when
//! `http.tls_cert_file` is set ([`TlsListener`]). Every accepted connection has Nagle's
//! algorithm turned off (`no_delay`).
//!
//! TLS handshakes run on the request thread that will serve the connection, each in a
//! task of its own (bounded in time), so a slow or silent client never holds up the
//! others; the connections that completed their handshake are handed to `axum::serve`
//! in order. The protocol (HTTP/1.1 or HTTP/2) is the one ALPN chose: hyper's automatic
//! builder reads it from the first bytes.

use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection on its way to a request thread: still a `std` socket, since a Tokio
/// socket belongs to the event loop that registered it.
struct Handed {
    tcp: std::net::TcpStream,
    peer: SocketAddr,
    open: Open,
}

/// Counts a connection as open on its request thread until dropped.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn new(count: &Arc<AtomicUsize>) -> Open {
        count.fetch_add(1, Ordering::Relaxed);
        Open(count.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The accepting end of one request thread's connections.
pub struct Lane {
    to: mpsc::UnboundedSender<Handed>,
    open: Arc<AtomicUsize>,
}

/// Makes the two ends of a request thread's connections.
pub fn lane(local: SocketAddr) -> (Lane, Incoming) {
    let (to, from) = mpsc::unbounded_channel();
    (
        Lane {
            to,
            open: Arc::new(AtomicUsize::new(0)),
        },
        Incoming { from, local },
    )
}

/// Accepts connections on `tcp` until `stop` fires (or its sender is gone) and hands
/// each to a lane: the one with the fewest open connections, the earliest after the
/// last one chosen among equals, so that connections spread evenly however long each
/// lasts. Closes the socket when it stops.
pub async fn accept_loop(tcp: TcpListener, lanes: Vec<Lane>, mut stop: watch::Receiver<()>) {
    let mut last = lanes.len().saturating_sub(1);
    loop {
        let (stream, peer) = tokio::select! {
            r = tcp.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        no_delay(&stream);
        let mut conn = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "connection dropped: cannot hand it over");
                continue;
            }
        };
        // A lane whose request thread has stopped serving is closed: the connection
        // goes to another one.
        loop {
            let Some(i) = least_loaded(&lanes, last) else {
                tracing::error!("no request thread is serving: no more connections are accepted");
                return;
            };
            last = i;
            let handed = Handed {
                tcp: conn,
                peer,
                open: Open::new(&lanes[i].open),
            };
            match lanes[i].to.send(handed) {
                Ok(()) => break,
                // Stopping: the request threads end as they finish; the connection is
                // dropped.
                Err(_) if stopping(&mut stop) => {
                    tracing::debug!(%peer, "connection dropped: shutting down");
                    return;
                }
                Err(mpsc::error::SendError(h)) => {
                    tracing::error!(
                        thread = i,
                        "a request thread stopped serving: its connections go to the others"
                    );
                    conn = h.tcp;
                }
            }
        }
    }
}

/// Whether the server is stopping: `stop` fired, or its sender is gone.
fn stopping(stop: &mut watch::Receiver<()>) -> bool {
    stop.has_changed().unwrap_or(true)
}

/// The open lane with the fewest open connections; among equals, the first after
/// `last`. `None` if every lane is closed.
fn least_loaded(lanes: &[Lane], last: usize) -> Option<usize> {
    let n = lanes.len();
    (1..=n)
        .map(|k| (last + k) % n)
        .filter(|&i| !lanes[i].to.is_closed())
        .min_by_key(|&i| lanes[i].open.load(Ordering::Relaxed))
}

/// The connections handed to one request thread, as `axum::serve` accepts them.
pub struct Incoming {
    from: mpsc::UnboundedReceiver<Handed>,
    local: SocketAddr,
}

impl Incoming {
    /// The next connection, registered with this thread's event loop; `None` once the
    /// accepting task is gone.
    async fn next(&mut self) -> Option<(Conn, SocketAddr)> {
        loop {
            let h = self.from.recv().await?;
            match TcpStream::from_std(h.tcp) {
                Ok(tcp) => return Some((Conn { tcp, _open: h.open }, h.peer)),
                Err(e) => tracing::debug!(peer = %h.peer, error = %e, "connection dropped"),
            }
        }
    }
}

impl Listener for Incoming {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.next().await {
            Some(c) => c,
            // The accepting task is gone: it stops only when the server does, which
            // also ends this listener's `axum::serve`. Accept nothing more meanwhile.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// A TCP connection served by a request thread, counted open there until dropped.
pub struct Conn {
    tcp: TcpStream,
    _open: Open,
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Connections whose TLS handshake is done, with their peer address.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<Conn>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts handshaking the connections of `incoming`; stops once this listener is
    /// dropped, which `axum::serve` does when it shuts down.
    pub fn new(mut incoming: Incoming, config: Arc<ServerConfig>) -> TlsListener {
        let local = incoming.local;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (conn, peer) = tokio::select! {
                    c = incoming.next() => match c {
                        Some(c) => c,
                        None => break,
                    },
                    _ = tx.closed() => break,
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
                        Ok(Ok(tls)) => {
                            // An error here: the server is shutting down; the connection
                            // is dropped.
                            if tx.send((tls, peer)).await.is_err() {
                                tracing::debug!(%peer, "connection dropped: shutting down");
                            }
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener { ready, local }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<Conn>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // No more connections will come (the server is stopping): accept nothing.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Turns Nagle's algorithm off on an accepted connection: a response (or a handshake
/// message) that goes out in more than one write is sent at once instead of waiting for
/// the client's acknowledgement of the first part (up to its delayed-ACK timer, 40 ms on
/// Linux). If the option cannot be set, the connection still works, as before.
fn no_delay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

/// A failed `accept`: a connection-level error concerns that connection only; any other
/// (out of file descriptors …) is waited out a little, as axum does for plain TCP.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next connection handed to a lane (None if none came within a second).
    async fn handed(incoming: &mut Incoming) -> Option<Conn> {
        tokio::time::timeout(Duration::from_secs(1), incoming.next())
            .await
            .ok()
            .flatten()
            .map(|(c, _)| c)
    }

    #[tokio::test]
    async fn connections_go_to_the_lane_with_the_fewest_open_ones() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (a, mut in_a) = lane(addr);
        let (b, mut in_b) = lane(addr);
        let (c, mut in_c) = lane(addr);
        let (stop, stopped) = watch::channel(());
        let acceptor = tokio::spawn(accept_loop(tcp, vec![a, b, c], stopped));
        let mut clients = Vec::new();
        let connect = || async { TcpStream::connect(addr).await.unwrap() };
        // Six connections: two on each lane, in turn.
        let mut on = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..2 {
            for (i, incoming) in [&mut in_a, &mut in_b, &mut in_c].into_iter().enumerate() {
                clients.push(connect().await);
                on[i].push(handed(incoming).await.expect("handed to this lane"));
            }
        }
        assert!(on.iter().all(|v| v.len() == 2));
        assert!(on[0][0].tcp.nodelay().unwrap(), "Nagle's algorithm is off");
        // Two connections of lane b close: the next two go there, whatever the turn.
        on[1].clear();
        for _ in 0..2 {
            clients.push(connect().await);
            on[1].push(handed(&mut in_b).await.expect("handed to b"));
        }
        // All equal again: the turn goes on from b.
        clients.push(connect().await);
        on[2].push(handed(&mut in_c).await.expect("handed to c"));
        assert!(in_a.from.is_empty() && in_b.from.is_empty());
        drop(stop);
        acceptor.await.unwrap();
        // The socket is closed: nothing more is accepted.
        assert!(TcpStream::connect(addr).await.is_err());
        drop(clients);
    }

    #[tokio::test]
    async fn a_thread_that_stopped_serving_gets_no_more_connections() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (a, mut in_a) = lane(addr);
        let (b, in_b) = lane(addr);
        let (_stop, stopped) = watch::channel(());
        let acceptor = tokio::spawn(accept_loop(tcp, vec![a, b], stopped));
        drop(in_b);
        let mut kept = Vec::new();
        for _ in 0..3 {
            let client = TcpStream::connect(addr).await.unwrap();
            kept.push((client, handed(&mut in_a).await.expect("handed to a")));
        }
        // With no thread left, the acceptor ends and the socket closes.
        drop(in_a);
        let _late = TcpStream::connect(addr).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), acceptor)
            .await
            .expect("the acceptor ends")
            .unwrap();
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
