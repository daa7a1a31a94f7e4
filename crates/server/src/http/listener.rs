//! The TLS listener `axum::serve` accepts from when `http.tls_cert_file` is set. TCP
//! connections are accepted in a task of their own and each handshake runs in its own
//! task (bounded in time), so a slow or silent client never holds up the others; the
//! connections that completed their handshake are handed to `axum::serve` in order.
//! The protocol (HTTP/1.1 or HTTP/2) is the one ALPN chose: hyper's automatic builder
//! reads it from the first bytes. Every accepted connection, TLS or not, has Nagle's
//! algorithm turned off ([`no_delay`]).

use axum::serve::Listener;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose TLS handshake is done, with their peer address.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`; stops (closing the socket) once this listener is
    /// dropped, which `axum::serve` does when it shuts down.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    r = tcp.accept() => match r {
                        Ok(c) => c,
                        Err(e) => {
                            accept_error(e).await;
                            continue;
                        }
                    },
                    _ = tx.closed() => break,
                };
                no_delay(&stream);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
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
        Ok(TlsListener { ready, local })
    }
}

/// Turns Nagle's algorithm off on an accepted connection: a response (or a handshake
/// message) that goes out in more than one write is sent at once instead of waiting for
/// the client's acknowledgement of the first part (up to its delayed-ACK timer, 40 ms on
/// Linux). If the option cannot be set, the connection still works, as before.
pub fn no_delay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

/// A failed `accept`: a connection-level error concerns that connection only; any other
/// (out of file descriptors …) is waited out a little, as axum does for plain TCP.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task is gone (it only stops once this listener is dropped,
            // so this is not expected): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
