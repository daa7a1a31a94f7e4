//! A settings PATCH or a key rotation on one node applies on every node
//! sharing the PostgreSQL database, within the 5 s refresh period.

use super::*;
use crate::support::eventually;
use baton_server::admin::ops;
use baton_server::caller::Caller;
use baton_testkit::pg::PgSchema;
use std::time::Duration;

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
    let picked_up = |(usage, kids): &(String, Vec<String>)| {
        usage == "one_time" && new_kids.iter().all(|k| kids.contains(k))
    };
    let seen = eventually(
        Duration::from_secs(8),
        || async {
            let usage = b
                .state()
                .server_refresh_settings()
                .usage
                .as_str()
                .to_string();
            (usage, jwks_kids(&b).await)
        },
        picked_up,
    )
    .await;
    assert!(
        picked_up(&seen),
        "node B did not pick up the change within 8 s: {seen:?}"
    );
    // B now issues with A's settings: 10 minute access tokens, rotating refresh tokens.
    let t = b.password_grant("openid offline_access").await;
    assert_eq!(t["expires_in"], 600);
    let rt = t["refresh_token"].as_str().unwrap();
    let (_, v) = b.refresh(rt).await;
    assert_ne!(v["refresh_token"].as_str().unwrap(), rt);
}
