//! A logout whose back-channel receiver is down; the node is SIGKILLed while it
//! retries, restarted on the same database, and only then the receiver comes up: the
//! logout token arrives, valid, for the right session.

use super::*;
use baton_core::model::SigAlg;
use baton_testkit::flow::{hidden_inputs, jwt_claims, location, AuthParams, Callback};
use baton_testkit::pg::PgSchema;
use baton_testkit::ChildServer;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;

const RP_SECRET: &str = "rp-secret-0123456789abcdef0123456789ab";

fn config(bc_port: u16) -> String {
    format!(
        r#"
[[clients]]
client_id = "rp"
client_name = "Relying Party"
client_secret = "{RP_SECRET}"
redirect_uris = ["http://127.0.0.1:9/cb"]
backchannel_logout_uri = "http://127.0.0.1:{bc_port}/bc"
grant_types = ["authorization_code", "refresh_token"]
scopes = ["openid", "offline_access"]

[http]
allow_private_outbound = true

[outbox]
first_retry = "200ms"
max_retry = "1s"
max_attempts = 100
"#
    )
}

/// A code flow as alice against a server known only by its URL (a child process):
/// the token response.
async fn code_flow(http: &reqwest::Client, url: &str) -> Value {
    let p = AuthParams::new("rp", "openid offline_access");
    let mut resp = http
        .get(format!("{url}/authorize"))
        .query(&p.query())
        .send()
        .await
        .unwrap();
    let callback = loop {
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let loc = location(&resp).unwrap();
        let (path, extra): (&str, Vec<(&str, &str)>) = if loc.starts_with("/login") {
            (
                "/login",
                vec![("username", "alice"), ("password", "alice-password")],
            )
        } else if loc.starts_with("/consent") {
            ("/consent", vec![("decision", "allow")])
        } else {
            break Callback::parse(&loc);
        };
        let page = http.get(format!("{url}{loc}")).send().await.unwrap();
        let mut form: Vec<(String, String)> = hidden_inputs(&page.text().await.unwrap())
            .into_iter()
            .collect();
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        resp = http
            .post(format!("{url}{path}"))
            .form(&form)
            .send()
            .await
            .unwrap();
    };
    let verifier = p.pkce.as_ref().unwrap().verifier.clone();
    let r = http
        .post(format!("{url}/token"))
        .basic_auth("rp", Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", callback.code()),
            ("redirect_uri", baton_testkit::flow::REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Tries made so far on the one back-channel delivery, and whether it is done (read
/// from the database directly: the node is a separate process).
async fn delivery_state(storage: &str) -> Option<(i64, bool)> {
    const SQL: &str = "SELECT attempts * 2 + (CASE WHEN done_at IS NULL THEN 0 ELSE 1 END)
                       FROM outbox WHERE kind = 'backchannel_logout'";
    let v: i64 = if let Some(path) = storage.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open(path).ok()?;
        c.query_row(SQL, [], |r| r.get(0)).ok()?
    } else {
        baton_testkit::pg::query_i64(
            storage,
            &SQL.replace("attempts * 2", "attempts::bigint * 2"),
        )
        .await
        .ok()?
    };
    Some((v / 2, v % 2 == 1))
}

async fn logout_survives_a_killed_node(dir: &Path, storage: &str) {
    let bc_port = free_port();
    let bin = Path::new(env!("CARGO_BIN_EXE_baton"));
    let node = ChildServer::spawn_on(bin, dir, Some(storage), &config(bc_port)).await;
    let http = baton_testkit::client();
    let tokens = code_flow(&http, &node.url).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    let claims = jwt_claims(&id_token);
    let (sid, sub) = (
        claims["sid"].as_str().unwrap().to_string(),
        claims["sub"].as_str().unwrap().to_string(),
    );
    let r = http
        .get(format!("{}/logout", node.url))
        .query(&[("id_token_hint", id_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The receiver is down: the node keeps trying.
    let (tries, done) = eventually(
        WAIT,
        || delivery_state(storage),
        |s| s.is_some_and(|(n, _)| n >= 2),
    )
    .await
    .expect("a queued back-channel delivery");
    assert!(tries >= 2 && !done, "tried {tries} times, still pending");
    node.kill().await;

    let node = ChildServer::spawn_on(bin, dir, Some(storage), &config(bc_port)).await;
    let jwks: Value = http
        .get(format!("{}/jwks", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Only now the receiver comes up, where it was registered.
    let bc = Listener::start_on(bc_port, 200).await;
    // A claim the killed node held lasts its lease (30 s) at most.
    let hits = bc.wait_hits(1, Duration::from_secs(45)).await;
    assert!(
        !hits.is_empty(),
        "the logout token arrived after the restart"
    );
    let hit = &hits[0];
    assert!(
        hit.request_line.starts_with("POST /bc "),
        "{}",
        hit.request_line
    );
    let token = hit.field("logout_token").expect("logout_token in the body");
    let v = baton_server::jwt::verify(&token, &jwks, &SigAlg::ALL)
        .expect("the logout token verifies against /jwks");
    assert_eq!(v.header["typ"], "logout+jwt");
    assert_eq!(v.claims["aud"], "rp");
    assert_eq!(v.claims["sid"], sid.as_str());
    assert_eq!(v.claims["sub"], sub.as_str());
    assert_eq!(
        v.claims["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(
        v.claims["iat"].as_i64().unwrap() > claims["iat"].as_i64().unwrap(),
        "signed at the try after the restart, not when the logout was queued"
    );
    // Done: nothing pending, and `backchannel_logout.sent` names the tries.
    let (_, done) = eventually(
        WAIT,
        || delivery_state(storage),
        |s| s.is_some_and(|(_, d)| d),
    )
    .await
    .unwrap();
    assert!(done);
    let store = baton_store::open(storage, 1).await.unwrap();
    let q = baton_core::store::EventQuery {
        kind: Some("backchannel_logout.sent".into()),
        limit: 10,
        ..Default::default()
    };
    // The event committed with the delivery's end: it is there as soon as that is.
    let sent = store.list_events(&q).await.unwrap();
    store.close();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].details["attempts"].as_u64().unwrap() > 2,
        "{sent:?}"
    );
    assert_eq!(sent[0].details["session_id"], sid.as_str());
    node.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_back_channel_logout_survives_a_killed_node() {
    let dir = tempfile::tempdir().unwrap();
    let storage = baton_testkit::sqlite_url(dir.path());
    logout_survives_a_killed_node(dir.path(), &storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_back_channel_logout_survives_a_killed_node() {
    let schema = PgSchema::create().await;
    let dir = tempfile::tempdir().unwrap();
    logout_survives_a_killed_node(dir.path(), &schema.url).await;
}
