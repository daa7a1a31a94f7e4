//! The scenarios of `baton.rs` against node `oidc-provider`, a server nobody on this
//! project wrote, to show the library is not tied to Baton. `tests/oidc/install.sh`
//! installs it with npm on first use; without node/npm these tests print why and pass
//! without running.
//!
//! oidc-provider rotates refresh tokens and, on reuse, revokes the grant; it has no grace
//! period, so a lost refresh response ends in `SignInRequired` there (as on Baton with
//! `grace_period = "0s"`).
// Test code: a failed step fails the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use baton_client::{
    AuthorizedClient, ClientAuth, ClientCredentialsManager, DpopKey, Endpoints, FileStore,
    LoopbackSignIn, ManagerOptions, MemoryStore, OAuthClient, SigningKey, TokenSet, TokenStore,
    UserTokenManager, UserTokens,
};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use support::proxy::Proxy;
use tokio::io::AsyncBufReadExt;

const SVC_SECRET: &str = "svc-secret-0123456789abcdef";

fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs oidc-provider once per test process; `Err` says why it cannot run.
fn installed() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let out = std::process::Command::new("sh")
            .arg(oidc_dir().join("install.sh"))
            .output()
            .map_err(|e| format!("cannot run install.sh: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "install.sh failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    })
    .clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Op {
    url: String,
    loopback_port: u16,
    _node: tokio::process::Child,
}

/// A running oidc-provider, or `None` (with the reason printed) when it cannot run.
async fn start(test: &str) -> Option<Op> {
    start_with(test, false).await
}

/// As [`start`], with DPoP on (nonces required) when `dpop`.
async fn start_with(test: &str, dpop: bool) -> Option<Op> {
    if let Err(why) = installed() {
        println!("SKIPPED {test}: node oidc-provider is not available: {why}");
        return None;
    }
    let (port, loopback_port) = (free_port(), free_port());
    let mut node = tokio::process::Command::new("node")
        .arg(oidc_dir().join("server.mjs"))
        .env("PORT", port.to_string())
        .env("LOOPBACK_PORT", loopback_port.to_string())
        .env("DPOP", if dpop { "1" } else { "0" })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn node");
    let mut lines = tokio::io::BufReader::new(node.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("ready") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "oidc-provider did not start");
    Some(Op {
        url: format!("http://127.0.0.1:{port}"),
        loopback_port,
        _node: node,
    })
}

/// The native client `app`, its token requests through `token_base`.
async fn app(op: &Op, token_base: &str) -> OAuthClient {
    let http = baton_client::default_http_client().unwrap();
    let d = Endpoints::discover(&http, &op.url).await.unwrap();
    let ep = Endpoints::token_only(&format!("{token_base}/token"))
        .with_authorization(d.authorization_endpoint.as_deref().unwrap())
        .with_revocation(d.revocation_endpoint.as_deref().unwrap())
        .with_introspection(d.introspection_endpoint.as_deref().unwrap());
    OAuthClient::new(ep, "app", ClientAuth::None).unwrap()
}

/// Signs alice in through the loopback flow (a cookie-keeping client as the browser);
/// answers her tokens marked as expired.
async fn sign_in(op: &Op, c: &OAuthClient) -> TokenSet {
    // oidc-provider issues a refresh token for offline_access only with prompt=consent.
    let signin = LoopbackSignIn::start_with(
        c,
        "openid offline_access",
        op.loopback_port,
        &[("prompt", "consent")],
    )
    .await
    .unwrap();
    let url = signin.authorization_url().to_string();
    let finish = tokio::spawn({
        let c = c.clone();
        async move { signin.finish(&c, Duration::from_secs(30)).await }
    });
    let browser = baton_testkit::http_builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = browser.get(&url).send().await.unwrap();
    assert_eq!(
        page.status().as_u16(),
        200,
        "the browser reached the loopback page"
    );
    let mut t = TokenSet::from_response(finish.await.unwrap().unwrap());
    assert!(t.refresh_token.is_some(), "a refresh token");
    t.expires_at = Some(0);
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oidc_provider_concurrent_callers_cause_one_refresh() {
    let Some(op) = start("oidc_provider_concurrent_callers_cause_one_refresh").await else {
        return;
    };
    let proxy = Proxy::start(&op.url).await;
    let c = app(&op, &proxy.url).await;
    let first = sign_in(&op, &c).await;
    let m = UserTokenManager::new(c, MemoryStore::new(), ManagerOptions::default());
    m.set_tokens("alice", first.clone()).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.access_token("alice").await })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        seen.insert(t.await.unwrap().unwrap().token);
    }
    assert_eq!(seen.len(), 1);
    assert_eq!(proxy.refreshes(), 1, "64 callers, one refresh request");
    // No fork: reuse would have revoked the grant and this refresh would fail.
    let mut now = m.tokens("alice").await.unwrap().unwrap();
    assert_ne!(now.refresh_token, first.refresh_token, "it rotated");
    now.expires_at = Some(0);
    m.set_tokens("alice", now).await.unwrap();
    m.access_token("alice").await.unwrap();
    assert_eq!(proxy.refreshes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_lost_refresh_response_without_grace_requires_sign_in() {
    let Some(op) =
        start("oidc_provider_lost_refresh_response_without_grace_requires_sign_in").await
    else {
        return;
    };
    let proxy = Proxy::start(&op.url).await;
    let c = app(&op, &proxy.url).await;
    let first = sign_in(&op, &c).await;
    let m = UserTokenManager::new(c, MemoryStore::new(), ManagerOptions::default());
    m.set_tokens("alice", first).await.unwrap();
    proxy.drop_next_refresh();
    let e = m.access_token("alice").await.unwrap_err();
    assert!(e.is_sign_in_required(), "{e}");
    assert_eq!(proxy.refreshes(), 2, "the lost refresh was repeated once");
    assert!(m.tokens("alice").await.unwrap().is_none());
}

/// The child half of the crash test (does nothing unless run as the child).
#[tokio::test]
async fn child_refreshes_then_dies() {
    support::child::run_if_child().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_process_killed_after_refresh_restarts_from_the_file_store() {
    let Some(op) =
        start("oidc_provider_process_killed_after_refresh_restarts_from_the_file_store").await
    else {
        return;
    };
    let c = app(&op, &op.url).await;
    let first = sign_in(&op, &c).await;
    let dir = tempfile::tempdir().unwrap();
    FileStore::new(dir.path())
        .unwrap()
        .save(support::child::KEY, &first)
        .unwrap();
    support::child::run(&format!("{}/token", op.url), "app", dir.path()).await;

    let store = FileStore::new(dir.path()).unwrap();
    let after = store.load(support::child::KEY).unwrap().unwrap();
    assert_ne!(
        after.refresh_token, first.refresh_token,
        "the rotated token was persisted"
    );
    let mut due = after.clone();
    due.expires_at = Some(0);
    store.save(support::child::KEY, &due).unwrap();
    let m = UserTokenManager::new(c, store, ManagerOptions::default());
    m.access_token(support::child::KEY).await.unwrap();
    let again = m.tokens(support::child::KEY).await.unwrap().unwrap();
    assert_ne!(
        again.refresh_token, after.refresh_token,
        "it keeps rotating"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_client_credentials_cached_and_introspected() {
    let Some(op) = start("oidc_provider_client_credentials_cached_and_introspected").await else {
        return;
    };
    let proxy = Proxy::start(&op.url).await;
    let http = baton_client::default_http_client().unwrap();
    let d = Endpoints::discover(&http, &op.url).await.unwrap();
    let ep = Endpoints::token_only(&format!("{}/token", proxy.url))
        .with_introspection(d.introspection_endpoint.as_deref().unwrap());
    let c = OAuthClient::new(ep, "svc", ClientAuth::SecretBasic(SVC_SECRET.into())).unwrap();
    let m = ClientCredentialsManager::new(c.clone(), ManagerOptions::default());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.access_token(Some("api")).await })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        seen.insert(t.await.unwrap().unwrap().token);
    }
    assert_eq!(seen.len(), 1);
    m.access_token(Some("api")).await.unwrap();
    assert_eq!(proxy.client_credentials(), 1, "one request, then the cache");
    let token = seen.into_iter().next().unwrap();
    let i = c.introspect(&token, None).await.unwrap();
    assert!(i.active);
    assert_eq!(i.client_id.as_deref(), Some("svc"));
    let wrong = OAuthClient::new(
        Endpoints::token_only(&format!("{}/token", op.url)),
        "svc",
        ClientAuth::SecretBasic("wrong".into()),
    )
    .unwrap();
    match wrong.client_credentials(Some("api")).await {
        Err(baton_client::Error::OAuth(e)) => {
            assert_eq!(e.error, baton_client::ErrorCode::InvalidClient)
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_authorized_client_retries_once_on_invalid_token_and_sign_out_revokes() {
    let Some(op) =
        start("oidc_provider_authorized_client_retries_once_on_invalid_token_and_sign_out_revokes")
            .await
    else {
        return;
    };
    let proxy = Proxy::start(&op.url).await;
    let c = app(&op, &proxy.url).await;
    let mut t = sign_in(&op, &c).await;
    t.access_token = "revoked-or-garbage".into();
    t.expires_at = None;
    let m = UserTokenManager::new(c.clone(), MemoryStore::new(), ManagerOptions::default());
    m.set_tokens("alice", t).await.unwrap();
    let api = AuthorizedClient::new(
        baton_testkit::http_builder().build().unwrap(),
        UserTokens {
            manager: m.clone(),
            key: "alice".into(),
        },
    );
    let resp = api
        .send(api.http().get(format!("{}/me", op.url)))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(proxy.refreshes(), 1);

    let rt = m
        .tokens("alice")
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    m.sign_out("alice").await.unwrap();
    let e = c.refresh(&rt, None).await.unwrap_err();
    assert_eq!(
        e.oauth().map(|o| o.error.as_str()),
        Some("invalid_grant"),
        "revoked: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_dpop_bound_tokens_refresh_with_the_persisted_key_and_nonces() {
    let Some(op) = start_with(
        "oidc_provider_dpop_bound_tokens_refresh_with_the_persisted_key_and_nonces",
        true,
    )
    .await
    else {
        return;
    };
    let pkcs8 = SigningKey::generate_pkcs8().unwrap(); // what an app keeps next to its tokens
    let key = || Arc::new(DpopKey::from_pkcs8(&pkcs8).unwrap());
    let c = app(&op, &op.url).await.with_dpop(key());
    // The code exchange meets use_dpop_nonce first and repeats with the nonce.
    let t = sign_in(&op, &c).await;
    assert_eq!(t.token_type, "DPoP");
    let dir = tempfile::tempdir().unwrap();
    let m = UserTokenManager::new(
        c,
        FileStore::new(dir.path()).unwrap(),
        ManagerOptions::default(),
    );
    m.set_tokens("alice", t.clone()).await.unwrap();
    let api = AuthorizedClient::new(
        baton_testkit::http_builder().build().unwrap(),
        UserTokens {
            manager: m.clone(),
            key: "alice".into(),
        },
    );
    // Refresh (DPoP proof), then the API call with `DPoP` + a proof carrying ath.
    let resp = api
        .send(api.http().get(format!("{}/me", op.url)))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // A restart: the key from its stored bytes, the tokens from the file store.
    let c2 = app(&op, &op.url).await.with_dpop(key());
    let store = FileStore::new(dir.path()).unwrap();
    let mut due = store.load("alice").unwrap().unwrap();
    assert_ne!(due.refresh_token, t.refresh_token, "it rotated");
    due.expires_at = Some(0);
    store.save("alice", &due).unwrap();
    let m2 = UserTokenManager::new(c2, store, ManagerOptions::default());
    let at = m2.access_token("alice").await.unwrap();
    assert_eq!(at.token_type, "DPoP");

    // The bound refresh token is useless with another key.
    let other = Arc::new(DpopKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap());
    let c3 = app(&op, &op.url).await.with_dpop(other);
    let rt = m2
        .tokens("alice")
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    let e = c3.refresh(&rt, None).await.unwrap_err();
    assert_eq!(
        e.oauth().map(|o| o.error.as_str()),
        Some("invalid_grant"),
        "{e}"
    );
}
