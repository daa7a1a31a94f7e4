//! Helpers shared by more than one topic: what a request must not change, error and page
//! assertions, token-response fields, and waiting for a background task with a deadline.
//! Helpers that only one topic uses live with that topic.

use baton_core::model::Grant;
use baton_core::store::EventQuery;
use baton_testkit::TestServer;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a request must not change: the number of events and of grants stored.
pub async fn snapshot(s: &TestServer) -> (usize, usize) {
    let store = &s.state().store;
    let q = EventQuery {
        limit: 100_000,
        ..Default::default()
    };
    let events = store.list_events(&q).await.expect("events").len();
    let grants = store
        .list_grants(None, None, 100_000)
        .await
        .expect("grants")
        .len();
    (events, grants)
}

/// An RFC 6749 §5.2 error: this status, this code, and a description.
#[track_caller]
pub fn assert_oauth_error(got: (StatusCode, &Value), status: u16, code: &str) {
    let (st, body) = got;
    assert_eq!(st.as_u16(), status, "status for {body}");
    assert_eq!(body["error"], code, "error code in {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "error_description in {body}"
    );
}

/// Asserts a `400 invalid_grant` whose description contains `why`.
#[track_caller]
pub fn assert_invalid_grant(st: StatusCode, v: &Value, why: &str) {
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant", "{v}");
    let d = v["error_description"].as_str().unwrap_or("");
    assert!(d.contains(why), "description {d:?} should say {why:?}");
}

/// An HTML page answered in place: never a redirect. Answers the page text.
pub async fn html_page(resp: Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers().get("location").is_none(),
        "an error page, not a redirect"
    );
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "content type {ct}");
    resp.text().await.unwrap()
}

/// `GET path` on the server: a 200 with a JSON body.
pub async fn get_json(s: &TestServer, path: &str) -> Value {
    let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// The status `/userinfo` answers for an access token (200 live, 401 inactive).
pub async fn userinfo_status(s: &TestServer, access_token: &str) -> u16 {
    s.http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POSTs a form to `/token` at `url` (a server in another process); its status and body.
pub async fn post_token(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = http
        .post(format!("{url}/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A refresh of `token` as public client `client` at `url` (a server in another process).
pub async fn refresh_at(
    http: &reqwest::Client,
    url: &str,
    client: &str,
    token: &str,
) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", token),
    ];
    post_token(http, url, &form).await
}

/// A password grant for alice with the public client `client` at `url` (a server in
/// another process): its refresh token.
pub async fn login_at(http: &reqwest::Client, url: &str, client: &str) -> String {
    let form = [
        ("grant_type", "password"),
        ("client_id", client),
        ("username", "alice"),
        ("password", "alice-password"),
        ("scope", "openid offline_access"),
    ];
    let (st, v) = post_token(http, url, &form).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    rt(&v)
}

/// The refresh token of a token response.
pub fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token in {v}"))
        .to_string()
}

/// The grant a refresh token of this server names, as stored (main store or cache).
pub async fn grant_of(s: &TestServer, refresh_token: &str) -> Grant {
    let c = s
        .state()
        .rt_keys
        .open(refresh_token)
        .unwrap_or_else(|| panic!("not a token of this server: {refresh_token}"));
    s.state()
        .grants(c.persist())
        .get_grant(c.grant_id)
        .await
        .expect("read grant")
        .expect("grant exists")
}

/// Waits for a background task (delivery, a maintenance tick, another node): probes
/// every 25 ms until `done` holds of what `probe` answers, or `max` has passed. Answers
/// the last probe either way, for the caller's assertion to show.
pub async fn eventually<T, F, Fut>(max: Duration, mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + max;
    loop {
        let v = probe().await;
        if done(&v) || tokio::time::Instant::now() >= deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One request a [`Listener`] received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field of the body.
    pub fn field(&self, name: &str) -> Option<String> {
        self.body.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.replace('+', " "))
        })
    }
}

/// A receiver (a relying party's back-channel logout endpoint, a webhook): a tiny HTTP/1.1 server on
/// 127.0.0.1:0 that records each request and answers `status` (or, when `status` is 0,
/// closes every connection at once without answering).
pub struct Listener {
    pub port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    connections: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    pub async fn start(status: u16) -> Listener {
        Self::bind(
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            status,
        )
    }

    fn bind(l: tokio::net::TcpListener, status: u16) -> Listener {
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let status = Arc::new(AtomicU16::new(status));
        let s2 = status.clone();
        let (h, c) = (hits.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = l.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let status = s2.load(Ordering::SeqCst);
                if status == 0 {
                    drop(sock);
                    continue;
                }
                let h = h.clone();
                tokio::spawn(async move {
                    if let Some(hit) = read_request(&mut sock).await {
                        h.lock().unwrap().push(hit);
                    }
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Listener {
            port,
            hits,
            connections,
            status,
            task,
        }
    }

    /// Answers `status` from now on.
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Starts on a given port (a receiver that was down comes back where it was).
    pub async fn start_on(port: u16, status: u16) -> Listener {
        Self::bind(
            tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap(),
            status,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits (at most `max`) until `n` requests arrived; answers those that did.
    pub async fn wait_hits(&self, n: usize, max: Duration) -> Vec<Hit> {
        eventually(max, || async { self.hits() }, |hits| hits.len() >= n).await
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Hit> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Hit {
        request_line,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}
