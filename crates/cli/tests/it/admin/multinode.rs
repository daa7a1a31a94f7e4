//! SPEC §4/§7: a settings PATCH or a key rotation on one node applies on every node
//! sharing the PostgreSQL database, within the 5 s refresh period.

use super::*;
use baton_server::admin::ops;
use baton_server::caller::Caller;
use baton_testkit::pg::PgSchema;
use std::time::Duration;

async fn jwks_kids(s: &TestServer) -> Vec<String> {
    let v: Value = s
        .http
        .get(format!("{}/jwks", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_keys_reach_the_other_node_within_the_refresh_period() {
    let schema = PgSchema::create().await;
    let a = TestServer::start_with_storage(&schema.url, "").await;
    let b = TestServer::start_with_storage(&schema.url, "").await;
    let patch: baton_core::store::Settings = serde_json::from_str(
        r#"{"refresh_tokens": {"usage": "one_time"}, "access_tokens": {"lifetime": "10m"}}"#,
    )
    .unwrap();
    ops::patch_settings(a.state(), patch, &Caller::default())
        .await
        .unwrap();
    // At once on A.
    assert_eq!(
        a.state().server_refresh_settings().usage.as_str(),
        "one_time"
    );
    let rotated = ops::rotate_keys(a.state(), &Caller::default())
        .await
        .unwrap();
    let new_kids: Vec<String> = rotated.active.iter().map(|k| k.kid.clone()).collect();
    let mut ok = false;
    for _ in 0..80 {
        let kids = jwks_kids(&b).await;
        if b.state().server_refresh_settings().usage.as_str() == "one_time"
            && new_kids.iter().all(|k| kids.contains(k))
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "node B did not pick up the change within 8 s");
    // B now issues with A's settings: 10 minute access tokens, rotating refresh tokens.
    let t = b.password_grant("openid offline_access").await;
    assert_eq!(t["expires_in"], 600);
    let rt = t["refresh_token"].as_str().unwrap();
    let (_, v) = b.refresh(rt).await;
    assert_ne!(v["refresh_token"].as_str().unwrap(), rt);
}
