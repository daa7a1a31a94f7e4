//! A small HTTP/1.1 proxy for tests: counts token requests and can drop the response to
//! the next refresh request after the server has processed it (a lost response).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Default)]
pub struct Counters {
    /// Requests whose body has `grant_type=refresh_token`.
    pub refreshes: Arc<AtomicUsize>,
    /// Requests whose body has `grant_type=client_credentials`.
    pub client_credentials: Arc<AtomicUsize>,
    /// When set, the next refresh response is read from the server and thrown away, and
    /// the client's connection is closed.
    pub drop_next_refresh: Arc<AtomicBool>,
    /// When set, the next refresh response is held back for 3 s (past a short client
    /// timeout) and then sent.
    pub delay_next_refresh: Arc<AtomicBool>,
    /// The bodies of dropped or delayed responses.
    pub dropped: Arc<Mutex<Vec<String>>>,
}

pub struct Proxy {
    /// `http://127.0.0.1:PORT`, forwarding to the upstream.
    pub url: String,
    pub counters: Counters,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub fn refreshes(&self) -> usize {
        self.counters.refreshes.load(Ordering::SeqCst)
    }

    pub fn client_credentials(&self) -> usize {
        self.counters.client_credentials.load(Ordering::SeqCst)
    }

    pub fn drop_next_refresh(&self) {
        self.counters
            .drop_next_refresh
            .store(true, Ordering::SeqCst);
    }

    pub fn delay_next_refresh(&self) {
        self.counters
            .delay_next_refresh
            .store(true, Ordering::SeqCst);
    }

    pub fn dropped(&self) -> Vec<String> {
        self.counters.dropped.lock().unwrap().clone()
    }

    /// Proxies to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let addr: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counters = Counters::default();
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(connection(sock, addr, c.clone()));
            }
        });
        Proxy {
            url,
            counters,
            task,
        }
    }
}

/// Reads one HTTP/1.1 message (head + Content-Length or chunked body, or to EOF when
/// `to_eof` and neither is given). `None` on EOF before any byte.
async fn read_message(s: &mut TcpStream, to_eof: bool) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &buf[head_end..];
        let done = match len {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => !to_eof,
        };
        if done {
            return Some(buf);
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return Some(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn connection(mut client: TcpStream, upstream: SocketAddr, c: Counters) {
    while let Some(req) = read_message(&mut client, false).await {
        let text = String::from_utf8_lossy(&req);
        let refresh = text.contains("grant_type=refresh_token");
        if refresh {
            c.refreshes.fetch_add(1, Ordering::SeqCst);
        }
        if text.contains("grant_type=client_credentials") {
            c.client_credentials.fetch_add(1, Ordering::SeqCst);
        }
        let Ok(mut up) = TcpStream::connect(upstream).await else {
            return;
        };
        if up.write_all(&req).await.is_err() {
            return;
        }
        let Some(resp) = read_message(&mut up, true).await else {
            return;
        };
        if refresh && c.drop_next_refresh.swap(false, Ordering::SeqCst) {
            let body = String::from_utf8_lossy(&resp);
            let body = body.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            c.dropped.lock().unwrap().push(body);
            return; // closes the client's connection without an answer
        }
        if refresh && c.delay_next_refresh.swap(false, Ordering::SeqCst) {
            let body = String::from_utf8_lossy(&resp);
            let body = body.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            c.dropped.lock().unwrap().push(body);
            tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
        }
        if client.write_all(&resp).await.is_err() {
            return;
        }
    }
}
