//! Nodes started at the same instant on an empty PostgreSQL schema: all start, and all
//! end with the same users (the same random `sub` for a configured user without one)
//! and the same signing keys.

use baton_testkit::flow::{jwt_claims, jwt_header};
use baton_testkit::pg::{self, PgSchema};
use baton_testkit::TestServer;
use reqwest::StatusCode;
use std::sync::Arc;

/// A second configured user without a fixed `sub` (alice, of the base clients, has none
/// either), and one with a fixed `sub`.
const USERS: &str = r#"
[[users]]
username = "bob"
password = "bob-password"

[[users]]
username = "carol"
sub = "u_carol_fixed"
password = "carol-password"
"#;

const NODES: usize = 3;
const ROUNDS: usize = 10;

/// The `sub` a node puts in an access token for `user`, and the token's `kid`.
async fn sub_and_kid(node: &TestServer, user: &str, password: &str) -> (String, String) {
    let (st, v) = node
        .post_form(
            "/token",
            Some(baton_testkit::WEB),
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(
        st,
        StatusCode::OK,
        "password grant for {user} at {}: {v}",
        node.url
    );
    let at = v["access_token"].as_str().unwrap();
    (
        jwt_claims(at)["sub"].as_str().unwrap().to_string(),
        jwt_header(at)["kid"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_started_at_once_on_an_empty_schema_agree_on_users_and_keys() {
    for round in 0..ROUNDS {
        let schema = PgSchema::create().await;
        // Every node is released at the same instant: none is pre-seeded with keys.
        let go = Arc::new(tokio::sync::Barrier::new(NODES));
        let starts: Vec<_> = (0..NODES)
            .map(|_| {
                let (go, url) = (go.clone(), schema.url.clone());
                tokio::spawn(async move {
                    go.wait().await;
                    TestServer::start_unseeded_with_storage(&url, USERS).await
                })
            })
            .collect();
        let mut nodes = Vec::new();
        for s in starts {
            match s.await {
                Ok(n) => nodes.push(n),
                Err(e) => panic!("round {round}: a node did not start: {e}"),
            }
        }

        // One key per algorithm was generated, by one node, and every node publishes
        // exactly those.
        let keys = pg::query_i64(&schema.url, "SELECT COUNT(*) FROM signing_keys")
            .await
            .unwrap();
        assert_eq!(
            keys, 3,
            "round {round}: one key per algorithm, not one set per node"
        );
        let mut jwks = Vec::new();
        for n in &nodes {
            let r = n.http.get(format!("{}/jwks", n.url)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            jwks.push(r.text().await.unwrap());
        }
        assert!(
            jwks.iter().all(|j| j == &jwks[0]),
            "round {round}: the nodes publish different JWK Sets: {jwks:#?}"
        );
        let published: serde_json::Value = serde_json::from_str(&jwks[0]).unwrap();
        assert_eq!(published["keys"].as_array().map(Vec::len), Some(3));

        // Each configured user has one sub, the same at every node, and every node
        // signs with the same key.
        for (user, password) in [
            ("alice", "alice-password"),
            ("bob", "bob-password"),
            ("carol", "carol-password"),
        ] {
            let mut seen = Vec::new();
            for n in &nodes {
                seen.push(sub_and_kid(n, user, password).await);
            }
            assert!(
                seen.iter().all(|s| s == &seen[0]),
                "round {round}: {user} differs across nodes: {seen:?}"
            );
            if user == "carol" {
                assert_eq!(seen[0].0, "u_carol_fixed");
            }
        }
        let users = pg::query_i64(&schema.url, "SELECT COUNT(*) FROM users")
            .await
            .unwrap();
        assert_eq!(users, 3, "round {round}");
        for n in nodes {
            n.stop().await;
        }
    }
}
