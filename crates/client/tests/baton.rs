//! baton-client against a real Baton server (testkit): single flight, lost responses
//! within the grace period, crash-safe rotation across a killed process, client
//! credentials, the 401 retry, client authentication methods and the loopback flow.
// Test code: a failed step fails the test where it happened.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod support;
use support::get;

use baton_client::{
    AuthorizedClient, ClientAuth, ClientCredentialsManager, Endpoints, Error, ErrorCode, FileStore,
    LoopbackSignIn, ManagerOptions, MemoryStore, OAuthClient, SigningKey, TokenSet, TokenStore,
    UserTokenManager, UserTokens,
};
use baton_testkit::{flow, TestServer, SPA, WEB};
use std::sync::Arc;
use std::time::Duration;
use support::proxy::Proxy;

const ONE_TIME_NO_GRACE: &str = "[refresh_tokens]\nusage = \"one_time\"\ngrace_period = \"0s\"\n";

/// A client of `s` whose token requests go through `token_base` (a proxy or the server).
fn client(s: &TestServer, token_base: &str, id: &str, auth: ClientAuth) -> OAuthClient {
    let ep = Endpoints::token_only(&format!("{token_base}/token"))
        .with_authorization(&format!("{}/authorize", s.url))
        .with_revocation(&format!("{}/revoke", s.url))
        .with_introspection(&format!("{}/introspect", s.url));
    OAuthClient::new(ep, id, auth).unwrap()
}

fn spa(s: &TestServer, token_base: &str) -> OAuthClient {
    client(s, token_base, SPA, ClientAuth::None)
}

fn web(s: &TestServer, token_base: &str) -> OAuthClient {
    client(s, token_base, WEB.0, ClientAuth::SecretBasic(WEB.1.into()))
}

/// Tokens of a fresh code flow for alice, marked as expired so the next use refreshes.
async fn expired_tokens(s: &TestServer, client_id: &str) -> TokenSet {
    let v = flow::code_flow(s, client_id, "openid offline_access").await;
    let rt = v["refresh_token"].as_str().expect("a refresh token");
    TokenSet::new(v["access_token"].as_str().unwrap(), Some(rt), Some(0))
}

async fn reuse_events(s: &TestServer) -> usize {
    s.events("token.reuse_detected").await.len()
}

async fn single_flight(extra: &str, client_id: &str) {
    let s = TestServer::start(extra).await;
    let proxy = Proxy::start(&s.url).await;
    let c = if client_id == SPA {
        spa(&s, &proxy.url)
    } else {
        web(&s, &proxy.url)
    };
    let m = UserTokenManager::new(c, MemoryStore::new(), ManagerOptions::default());
    let first = expired_tokens(&s, client_id).await;
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
    assert_eq!(seen.len(), 1, "every caller gets the one refreshed token");
    assert!(!seen.contains(&first.access_token));
    assert_eq!(proxy.refreshes(), 1, "64 callers, one refresh request");
    assert_eq!(reuse_events(&s).await, 0);

    // And again on the rotated token: still one request per renewal.
    let mut now = m.tokens("alice").await.unwrap().unwrap();
    now.expires_at = Some(0);
    m.set_tokens("alice", now).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.access_token("alice").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(proxy.refreshes(), 2);
    assert_eq!(reuse_events(&s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_cause_one_refresh_with_default_rotation() {
    // A public client always rotates, with the default 30 s grace period.
    single_flight("", SPA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_cause_one_refresh_with_one_time_and_no_grace() {
    single_flight(ONE_TIME_NO_GRACE, WEB.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_refresh_response_is_recovered_with_the_same_successor() {
    let s = TestServer::start("").await;
    let proxy = Proxy::start(&s.url).await;
    let m = UserTokenManager::new(
        spa(&s, &proxy.url),
        MemoryStore::new(),
        ManagerOptions::default(),
    );
    let first = expired_tokens(&s, SPA).await;
    m.set_tokens("alice", first.clone()).await.unwrap();

    proxy.drop_next_refresh();
    m.access_token("alice").await.unwrap();
    assert_eq!(proxy.refreshes(), 2, "the lost refresh was repeated once");
    let dropped = proxy.dropped();
    assert_eq!(dropped.len(), 1);
    let lost: serde_json::Value = serde_json::from_str(&dropped[0]).unwrap();
    let now = m.tokens("alice").await.unwrap().unwrap();
    assert_ne!(now.refresh_token, first.refresh_token, "it rotated");
    assert_eq!(
        now.refresh_token.as_deref(),
        lost["refresh_token"].as_str(),
        "the retry answered the byte-identical successor of the lost response"
    );
    assert_eq!(reuse_events(&s).await, 0);

    // The line goes on: the successor refreshes normally.
    let mut next = now.clone();
    next.expires_at = Some(0);
    m.set_tokens("alice", next).await.unwrap();
    m.access_token("alice").await.unwrap();
    assert_eq!(reuse_events(&s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_timing_out_after_it_was_sent_is_recovered_with_the_same_successor() {
    let s = TestServer::start("").await;
    let proxy = Proxy::start(&s.url).await;
    let http = baton_testkit::http_builder()
        .timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let c = spa(&s, &proxy.url).with_http_client(http);
    let m = UserTokenManager::new(c, MemoryStore::new(), ManagerOptions::default());
    m.set_tokens("alice", expired_tokens(&s, SPA).await)
        .await
        .unwrap();
    proxy.delay_next_refresh();
    m.access_token("alice").await.unwrap();
    assert_eq!(
        proxy.refreshes(),
        2,
        "the timed-out refresh was repeated once"
    );
    let late: serde_json::Value = serde_json::from_str(&proxy.dropped()[0]).unwrap();
    let now = m.tokens("alice").await.unwrap().unwrap();
    assert_eq!(now.refresh_token.as_deref(), late["refresh_token"].as_str());
    assert_eq!(reuse_events(&s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_refresh_response_without_grace_requires_sign_in() {
    // What the grace period buys: with none, the repeated presentation is reuse.
    let s = TestServer::start(ONE_TIME_NO_GRACE).await;
    let proxy = Proxy::start(&s.url).await;
    let m = UserTokenManager::new(
        web(&s, &proxy.url),
        MemoryStore::new(),
        ManagerOptions::default(),
    );
    m.set_tokens("alice", expired_tokens(&s, WEB.0).await)
        .await
        .unwrap();
    proxy.drop_next_refresh();
    let e = m.access_token("alice").await.unwrap_err();
    assert!(e.is_sign_in_required(), "{e}");
    assert_eq!(reuse_events(&s).await, 1);
    assert!(m.tokens("alice").await.unwrap().is_none(), "tokens cleared");
}

#[tokio::test]
async fn rejected_refresh_token_clears_tokens_and_requires_sign_in() {
    let s = TestServer::start("").await;
    let store = Arc::new(MemoryStore::new());
    let m = UserTokenManager::with_shared_store(
        spa(&s, &s.url),
        store.clone(),
        ManagerOptions::default(),
    );
    m.set_tokens(
        "alice",
        TokenSet::new("at", Some("not-a-refresh-token"), Some(0)),
    )
    .await
    .unwrap();
    match m.access_token("alice").await {
        Err(Error::SignInRequired(Some(e))) => assert_eq!(e.error, ErrorCode::InvalidGrant),
        other => panic!("expected sign-in required, got {other:?}"),
    }
    assert!(store.load("alice").unwrap().is_none());
    assert!(m
        .access_token("alice")
        .await
        .unwrap_err()
        .is_sign_in_required());
    assert!(m
        .access_token("nobody")
        .await
        .unwrap_err()
        .is_sign_in_required());
}

#[tokio::test]
async fn sign_out_revokes_the_refresh_token() {
    let s = TestServer::start("").await;
    let m = UserTokenManager::new(
        spa(&s, &s.url),
        MemoryStore::new(),
        ManagerOptions::default(),
    );
    let t = expired_tokens(&s, SPA).await;
    let rt = t.refresh_token.clone().unwrap();
    m.set_tokens("alice", t).await.unwrap();
    m.sign_out("alice").await.unwrap();
    assert!(m.tokens("alice").await.unwrap().is_none());
    let (status, body) = s.refresh_public(&rt).await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn tokens_not_yet_due_are_not_refreshed_and_skew_applies() {
    let s = TestServer::start("").await;
    let proxy = Proxy::start(&s.url).await;
    let opts = ManagerOptions::default().with_refresh_skew(Duration::from_secs(120));
    let m = UserTokenManager::new(spa(&s, &proxy.url), MemoryStore::new(), opts);
    let mut t = expired_tokens(&s, SPA).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    t.expires_at = Some(now + 3600);
    m.set_tokens("alice", t.clone()).await.unwrap();
    assert_eq!(m.access_token("alice").await.unwrap().token, t.access_token);
    assert_eq!(proxy.refreshes(), 0);
    t.expires_at = Some(now + 100); // inside the 120 s skew
    m.set_tokens("alice", t.clone()).await.unwrap();
    assert_ne!(m.access_token("alice").await.unwrap().token, t.access_token);
    assert_eq!(proxy.refreshes(), 1);
}

/// The child half of the crash test (does nothing unless run as the child).
#[tokio::test]
async fn child_refreshes_then_dies() {
    support::child::run_if_child().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_killed_after_refresh_restarts_from_the_file_store() {
    let s = TestServer::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let first = expired_tokens(&s, SPA).await;
    FileStore::new(dir.path())
        .unwrap()
        .save("alice", &first)
        .unwrap();

    support::child::run(&format!("{}/token", s.url), SPA, dir.path()).await;

    // A new process (here: a new manager on the same directory) starts from the file.
    let store = FileStore::new(dir.path()).unwrap();
    let after = store.load("alice").unwrap().unwrap();
    assert_ne!(
        after.refresh_token, first.refresh_token,
        "the rotated token was persisted"
    );
    let mut due = after.clone();
    due.expires_at = Some(0);
    store.save("alice", &due).unwrap();
    let m = UserTokenManager::new(spa(&s, &s.url), store, ManagerOptions::default());
    m.access_token("alice").await.unwrap();
    let again = m.tokens("alice").await.unwrap().unwrap();
    assert_ne!(
        again.refresh_token, after.refresh_token,
        "it keeps rotating"
    );
    assert_eq!(reuse_events(&s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_are_cached_per_scope() {
    let s = TestServer::start("").await;
    let proxy = Proxy::start(&s.url).await;
    let m = ClientCredentialsManager::new(web(&s, &proxy.url), ManagerOptions::default());
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
    assert_eq!(proxy.client_credentials(), 1, "one request for 16 callers");
    m.access_token(Some("api")).await.unwrap();
    assert_eq!(proxy.client_credentials(), 1, "served from the cache");
    m.access_token(Some("api email")).await.unwrap();
    assert_eq!(
        proxy.client_credentials(),
        2,
        "another scope, another token"
    );
    m.access_token(Some("email  api")).await.unwrap();
    assert_eq!(
        proxy.client_credentials(),
        2,
        "the same scope in another order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_client_refreshes_and_retries_once_on_invalid_token() {
    let s = TestServer::start("").await;
    let proxy = Proxy::start(&s.url).await;
    let m = UserTokenManager::new(
        spa(&s, &proxy.url),
        MemoryStore::new(),
        ManagerOptions::default(),
    );
    let mut t = expired_tokens(&s, SPA).await;
    t.access_token = "revoked-or-garbage".into();
    t.expires_at = None; // looks usable: only the resource server can tell
    m.set_tokens("alice", t).await.unwrap();
    let api = AuthorizedClient::new(
        baton_testkit::http_builder().build().unwrap(),
        UserTokens {
            manager: m.clone(),
            key: "alice".into(),
        },
    );
    let resp = api
        .send(api.http().get(format!("{}/userinfo", s.url)))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let info: serde_json::Value = resp.json().await.unwrap();
    assert!(info["sub"].is_string());
    assert_eq!(proxy.refreshes(), 1);
    // The next call uses the renewed token directly.
    let resp = api
        .send(api.http().get(format!("{}/userinfo", s.url)))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(proxy.refreshes(), 1);
}

#[tokio::test]
async fn client_authentication_methods_discovery_introspection_and_revocation() {
    let pkcs8 = SigningKey::generate_pkcs8().unwrap();
    let key = SigningKey::from_pkcs8(&pkcs8, Some("k1".into())).unwrap();
    let jwks = serde_json::json!({ "keys": [key.public_jwk()] });
    let extra = format!(
        "[[clients]]\nclient_id = \"jwt-svc\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\ngrant_types = [\"client_credentials\"]\nscopes = [\"api\"]\njwks = '{jwks}'\n\n[[clients]]\nclient_id = \"post-svc\"\nclient_secret = \"post-secret-0123456789abcdef0123456789\"\ntoken_endpoint_auth_method = \"client_secret_post\"\ngrant_types = [\"client_credentials\"]\nscopes = [\"api\"]\n"
    );
    let s = TestServer::start(&extra).await;

    let discovered =
        OAuthClient::discover(&s.url, "jwt-svc", ClientAuth::PrivateKeyJwt(Arc::new(key)))
            .await
            .unwrap();
    assert_eq!(
        discovered.endpoints().token_endpoint.as_deref(),
        Some(format!("{}/token", s.url).as_str())
    );
    let jwt_token = discovered.client_credentials(Some("api")).await.unwrap();

    let post = client(
        &s,
        &s.url,
        "post-svc",
        ClientAuth::SecretPost("post-secret-0123456789abcdef0123456789".into()),
    );
    post.client_credentials(Some("api")).await.unwrap();
    // The wrong method for a client is an invalid_client error, typed.
    let wrong = client(
        &s,
        &s.url,
        "post-svc",
        ClientAuth::SecretBasic("post-secret-0123456789abcdef0123456789".into()),
    );
    match wrong.client_credentials(Some("api")).await {
        Err(Error::OAuth(e)) => assert_eq!(e.error, ErrorCode::InvalidClient),
        other => panic!("expected invalid_client, got {other:?}"),
    }

    // Introspection and revocation as the token's own client (private_key_jwt again,
    // with the endpoint's URL as audience).
    let i = discovered
        .introspect(&jwt_token.access_token, Some("access_token"))
        .await
        .unwrap();
    assert!(i.active);
    assert_eq!(i.client_id.as_deref(), Some("jwt-svc"));
    discovered
        .revoke(&jwt_token.access_token, Some("access_token"))
        .await
        .unwrap();
    let i = discovered
        .introspect(&jwt_token.access_token, None)
        .await
        .unwrap();
    assert!(!i.active, "revoked");
    let w = web(&s, &s.url);
    let refused = w
        .client_credentials(Some("no-such-scope"))
        .await
        .unwrap_err();
    assert!(refused.oauth().is_some(), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_sign_in_completes_the_code_flow() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let extra = format!(
        "[[clients]]\nclient_id = \"native\"\ntoken_endpoint_auth_method = \"none\"\nredirect_uris = [\"http://127.0.0.1:{port}/callback\"]\ngrant_types = [\"authorization_code\", \"refresh_token\"]\nscopes = [\"openid\", \"offline_access\"]\n"
    );
    let s = TestServer::start(&extra).await;
    let c = client(&s, &s.url, "native", ClientAuth::None);
    let signin = LoopbackSignIn::start(&c, "openid offline_access", port)
        .await
        .unwrap();
    let url = signin.authorization_url().to_string();
    let finish = tokio::spawn({
        let c = c.clone();
        async move { signin.finish(&c, Duration::from_secs(30)).await }
    });
    // The "system browser": sign in, consent, follow the redirect to the loopback.
    let b = flow::Browser::shared(&s);
    let cb = b.drive(b.get(&url).await, "allow").await;
    let page = get(&cb.url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let tokens = finish.await.unwrap().unwrap();
    assert!(tokens.refresh_token.is_some());

    // A redirect with another state is refused, and the real answer still completes.
    let signin = LoopbackSignIn::start(&c, "openid offline_access", port)
        .await
        .unwrap();
    let url = signin.authorization_url().to_string();
    let finish = tokio::spawn({
        let c = c.clone();
        async move { signin.finish(&c, Duration::from_secs(30)).await }
    });
    let page = get(format!(
        "http://127.0.0.1:{port}/callback?code=x&state=forged"
    ))
    .await
    .unwrap();
    assert_eq!(page.status().as_u16(), 400);
    assert!(
        !finish.is_finished(),
        "a wrong state does not end the sign-in"
    );
    let cb = b.drive(b.get(&url).await, "allow").await;
    assert_eq!(get(&cb.url).await.unwrap().status().as_u16(), 200);
    assert!(finish.await.unwrap().unwrap().access_token.len() > 10);

    // A port already in use is a configuration error.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert!(matches!(
        LoopbackSignIn::start(&c, "openid", taken_port).await,
        Err(Error::Config(_))
    ));
}

/// The CLI example, end to end: `login` through the loopback flow (this test plays the
/// browser), `token` from the file (refreshing), `logout` (revoking), `token` refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_example_signs_in_keeps_tokens_in_a_file_and_signs_out() {
    let exe = example_binary("cli_loopback");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let extra = format!(
        "[[clients]]\nclient_id = \"native\"\ntoken_endpoint_auth_method = \"none\"\nredirect_uris = [\"http://127.0.0.1:{port}/callback\"]\ngrant_types = [\"authorization_code\", \"refresh_token\"]\nscopes = [\"openid\", \"offline_access\"]\n"
    );
    let s = TestServer::start(&extra).await;
    let dir = tempfile::tempdir().unwrap();
    let cli = |cmd: &str| {
        let mut c = tokio::process::Command::new(&exe);
        c.args([s.url.as_str(), "native", cmd])
            .env("PORT", port.to_string())
            .env("NO_BROWSER", "1")
            .env("BATON_CLIENT_DIR", dir.path())
            .kill_on_drop(true);
        c
    };

    let mut login = cli("login")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(login.stderr.take().unwrap()));
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the CLI prints the URL");
        if let Some(u) = line.strip_prefix("Opening ") {
            break u.to_string();
        }
    };
    let b = flow::Browser::shared(&s);
    let cb = b.drive(b.get(&url).await, "allow").await;
    assert_eq!(get(&cb.url).await.unwrap().status().as_u16(), 200);
    assert!(login.wait().await.unwrap().success());

    let store = FileStore::new(dir.path()).unwrap();
    let mut t = store.load("default").unwrap().expect("tokens in the file");
    t.expires_at = Some(0);
    store.save("default", &t).unwrap();
    let out = cli("token").output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(printed, t.access_token, "refreshed");
    assert!(!printed.is_empty());

    let rt = store
        .load("default")
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    assert!(cli("logout").status().await.unwrap().success());
    assert_eq!(s.refresh_public_as("native", &rt).await, 400);
    let out = cli("token").output().await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not signed in"));
}

/// The path of an example binary, built first if this test run did not build it.
fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|p| p.parent()).unwrap();
    let path = debug.join("examples").join(name);
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "baton-client", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "building example {name}");
    }
    path
}

trait RefreshAs {
    async fn refresh_public_as(&self, client_id: &str, rt: &str) -> u16;
}

impl RefreshAs for TestServer {
    /// A refresh as public client `client_id`; answers the status.
    async fn refresh_public_as(&self, client_id: &str, rt: &str) -> u16 {
        let (status, _) = self
            .post_form(
                "/token",
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id),
                    ("refresh_token", rt),
                ],
            )
            .await;
        status.as_u16()
    }
}

/// The service example runs against Baton: discovery, a client-credentials token, three
/// API calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_example_calls_an_api_with_a_cached_client_credentials_token() {
    let exe = example_binary("service_client_credentials");
    let s = TestServer::start("").await;
    let out = tokio::process::Command::new(&exe)
        .env("ISSUER", &s.url)
        .env("CLIENT_ID", WEB.0)
        .env("CLIENT_SECRET", WEB.1)
        .env("SCOPE", "api")
        // Any API will do: this one answers 200 whatever the token.
        .env(
            "API_URL",
            format!("{}/.well-known/openid-configuration", s.url),
        )
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(": 200 OK").count(), 3, "{stdout}");
}
