//! `/metrics`: counts after a scripted sequence. The counters are process-wide,
//! so the server runs as a child process of its own (tests in this binary run in parallel).

use crate::support::rt;
use baton_testkit::{ChildServer, ALICE, WEB};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;

/// A public client whose rotated tokens have no grace period: a replay is reuse at once.
const EXTRA: &str = r#"
[[clients]]
client_id = "nograce"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]
[clients.refresh_tokens]
grace_period = "0s"
"#;

async fn token(
    http: &reqwest::Client,
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = http.post(format!("{url}/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Every sample line, keyed by name with labels.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (k, v) = line.rsplit_once(' ').unwrap();
        m.insert(k.to_string(), v.parse::<f64>().unwrap());
    }
    m
}

fn tokens(m: &HashMap<String, f64>, grant: &str, outcome: &str) -> f64 {
    let k = format!("baton_token_requests_total{{grant_type=\"{grant}\",outcome=\"{outcome}\"}}");
    *m.get(&k).unwrap_or_else(|| panic!("missing {k}"))
}

/// Alice's password grant for `client`, asking for a refresh token.
fn password_form(client: &str) -> [(&str, &str); 5] {
    [
        ("grant_type", "password"),
        ("client_id", client),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid offline_access"),
    ]
}

/// A public client's refresh (the client named in the form).
fn public_refresh<'a>(client: &'a str, token: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", "refresh_token"),
        ("client_id", client),
        ("refresh_token", token),
    ]
}

async fn scrape(http: &reqwest::Client, url: &str) -> HashMap<String, f64> {
    let r = http.get(format!("{url}/metrics")).send().await.unwrap();
    parse(&r.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_a_scripted_sequence() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"));
    let dir = tempfile::tempdir().unwrap();
    let c = ChildServer::spawn(bin, dir.path(), EXTRA).await;
    let http = baton_testkit::client();
    let url = c.url.clone();

    // spa (public, so rotating): issued, rotated, then a retry of the old token within
    // the grace period.
    let (s, v) = token(&http, &url, None, &password_form("spa")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t1 = rt(&v);
    let f = public_refresh("spa", &t1);
    let (s, v) = token(&http, &url, None, &f).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = token(&http, &url, None, &f).await;
    assert_eq!(s, StatusCode::OK, "grace replay: {v}");

    // web (confidential: `auto` reuses its refresh token): issued, then issued again.
    let (s, v) = token(&http, &url, Some(WEB), &password_form("web")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let w1 = rt(&v);
    let f = [
        ("grant_type", "refresh_token"),
        ("refresh_token", w1.as_str()),
    ];
    let (s, v) = token(&http, &url, Some(WEB), &f).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(rt(&v), w1);
    // A good token asking for more scope than its grant holds: invalid, not issued.
    let f = [
        ("grant_type", "refresh_token"),
        ("refresh_token", w1.as_str()),
        ("scope", "openid profile"),
    ];
    let (s, v) = token(&http, &url, Some(WEB), &f).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_scope");

    // nograce: issued, rotated, then the old token again: reuse detected.
    let (s, v) = token(&http, &url, None, &password_form("nograce")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let n1 = rt(&v);
    let f = public_refresh("nograce", &n1);
    let (s, v) = token(&http, &url, None, &f).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = token(&http, &url, None, &f).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"].as_str().unwrap().contains("reused"),
        "{v}"
    );

    // Junk: a token this server never sealed.
    let (s, _) = token(
        &http,
        &url,
        Some(WEB),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "brt_junk"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A wrong password, and an unsupported grant type.
    let mut bad = password_form("web");
    bad[3] = ("password", "wrong");
    let (s, _) = token(&http, &url, Some(WEB), &bad[..]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = token(&http, &url, Some(WEB), &[("grant_type", "magic")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let r = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().await.unwrap();
    let m = parse(&text);

    assert_eq!(tokens(&m, "password", "issued"), 3.0, "{text}");
    assert_eq!(tokens(&m, "password", "invalid"), 1.0);
    assert_eq!(tokens(&m, "refresh_token", "rotated"), 2.0);
    assert_eq!(tokens(&m, "refresh_token", "grace_replay"), 1.0);
    assert_eq!(tokens(&m, "refresh_token", "reuse_detected"), 1.0);
    assert_eq!(tokens(&m, "refresh_token", "invalid"), 2.0);
    assert_eq!(tokens(&m, "refresh_token", "issued"), 1.0);
    assert_eq!(tokens(&m, "refresh_token", "error"), 0.0);
    assert_eq!(tokens(&m, "other", "invalid"), 1.0);
    let total: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("baton_token_requests_total"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, 12.0);

    // Every /token request was timed; the histogram is cumulative.
    let count = m["baton_http_request_duration_seconds_count{endpoint=\"/token\"}"];
    assert_eq!(count, 12.0);
    let inf = m["baton_http_request_duration_seconds_bucket{endpoint=\"/token\",le=\"+Inf\"}"];
    assert_eq!(inf, 12.0);
    let small = m["baton_http_request_duration_seconds_bucket{endpoint=\"/token\",le=\"0.001\"}"];
    assert!(small <= inf);
    assert!(m["baton_http_request_duration_seconds_sum{endpoint=\"/token\"}"] > 0.0);

    // spa's and web's grants are active; nograce's was revoked on reuse.
    assert_eq!(m["baton_active_grants"], 2.0, "{text}");
    assert!(m.contains_key("baton_cleanup_removed_total{kind=\"grants_expired\"}"));
    // The cleanup job runs at start-up and reports each kind it swept.
    for kind in ["grants_expired", "grants_revoked", "sessions"] {
        let runs = m[&format!("baton_cleanup_runs_total{{kind=\"{kind}\"}}")];
        assert!(runs >= 1.0, "{kind}: {text}");
    }
    c.terminate().await;
}

/// `baton_cleanup_removed_total{kind="cache"}` counts the in-process cache's grants
/// dropped past `cleanup.retain_revoked` (it used to stay at 0 whatever happened).
#[tokio::test]
async fn the_cache_sweep_is_counted() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"));
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
[sessions]
expiry_check_interval = "200ms"
[cleanup]
retain_revoked = "1s"
[[clients]]
client_id = "volatile"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]
[clients.refresh_tokens]
persist = false
"#;
    let c = ChildServer::spawn(bin, dir.path(), extra).await;
    let http = baton_testkit::client();
    let url = c.url.clone();
    let form = [
        ("grant_type", "password"),
        ("client_id", "volatile"),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid offline_access"),
    ];
    let (s, v) = token(&http, &url, None, &form).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = http
        .post(format!("{url}/revoke"))
        .form(&[("client_id", "volatile"), ("token", rt(&v).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let key = "baton_cleanup_removed_total{kind=\"cache\"}";
    let removed = crate::support::eventually(
        std::time::Duration::from_secs(10),
        || async {
            let text = http
                .get(format!("{url}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            parse(&text).get(key).copied().unwrap_or(0.0)
        },
        |n| *n >= 1.0,
    )
    .await;
    assert_eq!(removed, 1.0);
    c.kill().await;
}

/// A refresh runs on its connection's task, so a client that disconnects while its
/// rotation waits for the commit drops the request's work. The rotation still commits
/// (its write is queued) and the request still counts once: as `abandoned`, since its
/// client never heard the answer. The presented token's retry is then the grace path's.
#[tokio::test]
async fn a_refresh_whose_client_disconnects_is_counted_abandoned() {
    use tokio::io::AsyncWriteExt;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"));
    let dir = tempfile::tempdir().unwrap();
    let c = ChildServer::spawn(bin, dir.path(), "").await;
    let http = baton_testkit::client();
    let url = c.url.clone();
    let (s, v) = token(&http, &url, None, &password_form("spa")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t1 = rt(&v);

    // Another connection holds the database's write lock: the server's commit waits.
    let db = rusqlite::Connection::open(dir.path().join("baton.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let body = format!("grant_type=refresh_token&client_id=spa&refresh_token={t1}");
    let addr = url.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(body.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(sock);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    db.execute_batch("ROLLBACK").unwrap();

    let mut m = scrape(&http, &url).await;
    for _ in 0..50 {
        if tokens(&m, "refresh_token", "abandoned") > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        m = scrape(&http, &url).await;
    }
    assert_eq!(tokens(&m, "refresh_token", "abandoned"), 1.0);
    assert_eq!(tokens(&m, "refresh_token", "rotated"), 0.0);

    // The rotation committed: presenting the same token again is a retry within the
    // grace period, answered with the current successor.
    let (s, v) = token(&http, &url, None, &public_refresh("spa", &t1)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let m = scrape(&http, &url).await;
    assert_eq!(tokens(&m, "refresh_token", "grace_replay"), 1.0);
}
