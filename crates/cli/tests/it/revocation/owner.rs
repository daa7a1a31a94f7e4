//! An access token is only as alive as the client it was issued to and the user it
//! speaks for, also when no grant stands behind it (client credentials, a password
//! grant without `offline_access`) and also in the reference format.

use super::*;
use crate::support::userinfo_status;
use baton_testkit::TestServer;
use serde_json::json;

const SVC: &str = r#"
[[clients]]
client_id = "svc"
client_secret = "svc-secret-0123456789abcdef0123456789ab"
grant_types = ["client_credentials"]
scopes = ["api"]

[[users]]
username = "bob"
password = "bob-password"
"#;

async fn password(s: &TestServer, who: (&str, &str), user: (&str, &str), scope: &str) -> String {
    let (st, v) = s
        .post_form(
            "/token",
            Some(who),
            &[
                ("grant_type", "password"),
                ("username", user.0),
                ("password", user.1),
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(v.get("refresh_token").is_none(), "no grant behind it: {v}");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn grantless_access_tokens_die_with_their_deleted_client() {
    let s = TestServer::start(&format!("{EXTRA}\n{SVC}")).await;
    let svc = ("svc", "svc-secret-0123456789abcdef0123456789ab");
    let (st, v) = s
        .post_form("/token", Some(svc), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(st, 200, "{v}");
    let cc = v["access_token"].as_str().unwrap().to_string();
    let reference = password(&s, OPAQUE, ("bob", "bob-password"), "openid").await;
    assert!(reference.starts_with("bat_"));
    for t in [&cc, &reference] {
        assert_eq!(introspect(&s, RS, t).await["active"], true);
    }
    assert_eq!(userinfo_status(&s, &reference).await, 200);

    let store = &s.state().store;
    assert!(store.delete_client("svc").await.unwrap());
    assert!(store.delete_client("opaque").await.unwrap());
    for t in [&cc, &reference] {
        assert_eq!(introspect(&s, RS, t).await, json!({"active": false}));
    }
    assert_eq!(userinfo_status(&s, &reference).await, 401);
}

#[tokio::test]
async fn grantless_access_tokens_die_with_their_disabled_user() {
    let s = TestServer::start(EXTRA).await;
    let jwt = password(&s, web(), ("alice", "alice-password"), "openid").await;
    let reference = password(&s, OPAQUE, ("alice", "alice-password"), "openid").await;
    assert_eq!(introspect(&s, web(), &jwt).await["active"], true);
    assert_eq!(introspect(&s, OPAQUE, &reference).await["active"], true);

    let store = &s.state().store;
    let mut alice = store.get_user("alice").await.unwrap().unwrap();
    alice.active = false;
    store.upsert_user(&alice).await.unwrap();
    assert_eq!(introspect(&s, web(), &jwt).await, json!({"active": false}));
    assert_eq!(
        introspect(&s, OPAQUE, &reference).await,
        json!({"active": false})
    );
    assert_eq!(introspect(&s, RS, &jwt).await, json!({"active": false}));
    assert_eq!(userinfo_status(&s, &jwt).await, 401);
    assert_eq!(userinfo_status(&s, &reference).await, 401);
}
