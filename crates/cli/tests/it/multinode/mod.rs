//! Several `baton` processes on one PostgreSQL behave as one server; a node
//! killed under load (SQLite or PostgreSQL) or losing its database connections loses
//! nothing acknowledged; the cleanup job, alone and on several nodes at once.

mod bootstrap;
mod cleanup;
mod crash;
mod fault;
mod two_nodes;

pub use crate::support::{assert_invalid_grant, login_at as login, refresh_at as refresh, rt};
use baton_core::token::{RefreshClaims, TokenKeys};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;

/// The `baton` binary.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baton"))
}

/// A public client whose grants have a 1 s grace period (the default `spa` has 30 s).
pub const SPA1: &str = r#"
[[clients]]
client_id = "spa1"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["refresh_token", "password"]
scopes = ["openid", "offline_access"]
[clients.refresh_tokens]
grace_period = "1s"
"#;

/// What a refresh token of the test servers (secret `SECRET_B64`) says.
pub fn claims(token: &str) -> RefreshClaims {
    TokenKeys::from_secret(&baton_testkit::secret_bytes())
        .open(token)
        .unwrap_or_else(|| panic!("not a token of the test servers: {token}"))
}

/// The generation stored for the grant a token names (read directly from the store).
pub async fn stored_generation(storage_url: &str, token: &str) -> (u64, bool) {
    let s = baton_store::open(storage_url, 2).await.unwrap();
    let g = s
        .get_grant(claims(token).grant_id)
        .await
        .unwrap()
        .expect("grant exists");
    s.close();
    (g.generation, g.is_active())
}

/// A refresh chain driven by a client task: the last token it received and the one
/// before that.
#[derive(Clone, Debug)]
pub struct Chain {
    pub prev: Option<String>,
    pub last: String,
}

/// What a driving task saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub ok: usize,
    pub unavailable: usize,
    pub transport_errors: usize,
    /// Answers that are neither a correct success nor 503 (must stay empty).
    pub wrong: Vec<String>,
}

pub type Chains = std::sync::Arc<Vec<std::sync::Mutex<Chain>>>;

/// `n` chains of `client` at `url`.
pub async fn new_chains(http: &reqwest::Client, url: &str, client: &str, n: usize) -> Chains {
    let mut v = Vec::new();
    for _ in 0..n {
        let last = login(http, url, client).await;
        v.push(std::sync::Mutex::new(Chain { prev: None, last }));
    }
    std::sync::Arc::new(v)
}

/// One task per chain refreshing it at `url` until `stop` (or, when `end_on_transport`,
/// until the node stops answering). A 200 must carry the successor of the token sent;
/// a 503 keeps the token for a retry; anything else is wrong.
pub fn drive(
    http: &reqwest::Client,
    url: &str,
    client: &'static str,
    chains: &Chains,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    end_on_transport: bool,
) -> Vec<tokio::task::JoinHandle<Seen>> {
    (0..chains.len())
        .map(|i| {
            let (http, url, chains, stop) =
                (http.clone(), url.to_string(), chains.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Seen::default();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let token = chains[i].lock().unwrap().last.clone();
                    let form = [
                        ("grant_type", "refresh_token"),
                        ("client_id", client),
                        ("refresh_token", token.as_str()),
                    ];
                    let resp = http.post(format!("{url}/token")).form(&form).send().await;
                    let r = match resp {
                        Ok(r) => r,
                        Err(_) => {
                            seen.transport_errors += 1;
                            if end_on_transport {
                                break;
                            }
                            // A client's back-off before it retries.
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                    let st = r.status();
                    let Ok(v) = r.json::<Value>().await else {
                        seen.transport_errors += 1;
                        if end_on_transport {
                            break;
                        }
                        continue;
                    };
                    match st {
                        StatusCode::OK => {
                            let next = v["refresh_token"].as_str().unwrap_or("").to_string();
                            if next.is_empty()
                                || claims(&next).generation != claims(&token).generation + 1
                            {
                                seen.wrong.push(format!("not the successor: {v}"));
                                break;
                            }
                            seen.ok += 1;
                            let mut c = chains[i].lock().unwrap();
                            *c = Chain {
                                prev: Some(token),
                                last: next,
                            };
                        }
                        StatusCode::SERVICE_UNAVAILABLE => {
                            seen.unavailable += 1;
                            // A client's back-off before it retries.
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        _ => {
                            seen.wrong.push(format!("{st}: {v}"));
                            break;
                        }
                    }
                }
                seen
            })
        })
        .collect()
}

/// Every chain continues from the last token its client received (a rotation whose
/// answer was lost comes back as that token's grace retry), a repeat gets the same
/// successor, the stored generation is the successor's, and the token before the last
/// is reuse (which revokes the chain).
pub async fn check_chains(
    http: &reqwest::Client,
    url: &str,
    client: &str,
    storage: &str,
    chains: &Chains,
) {
    for (i, c) in chains.iter().enumerate() {
        let c = c.lock().unwrap().clone();
        let (st, v) = refresh(http, url, client, &c.last).await;
        assert_eq!(st, StatusCode::OK, "chain {i} cannot continue: {v}");
        let next = rt(&v);
        assert_eq!(
            claims(&next).generation,
            claims(&c.last).generation + 1,
            "chain {i}: the answer is the successor of the last token received"
        );
        let (st, v) = refresh(http, url, client, &c.last).await;
        assert_eq!(
            (st, rt(&v)),
            (StatusCode::OK, next.clone()),
            "chain {i}: a retry does not fork"
        );
        assert_eq!(
            stored_generation(storage, &next).await,
            (claims(&next).generation, true),
            "chain {i}: exactly one live generation"
        );
        if let Some(prev) = &c.prev {
            let (st, v) = refresh(http, url, client, prev).await;
            assert_invalid_grant(st, &v, "reused");
            let (st, v) = refresh(http, url, client, &next).await;
            assert_invalid_grant(st, &v, "revoked");
        }
    }
}
