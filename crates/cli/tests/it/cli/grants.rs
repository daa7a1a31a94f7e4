//! `baton grants list`, `baton revoke`, `baton events`, `baton keys rotate` against the
//! store of a running server: a revocation takes effect on the next refresh.

use super::*;
use baton_testkit::TestServer;
use reqwest::StatusCode;

#[tokio::test]
async fn grants_revoke_and_events_against_a_live_store() {
    let s = TestServer::start("").await;
    let cfg = s.dir.path().join("baton.toml");
    let t1 = s.password_grant("openid offline_access").await;
    let _t2 = s.password_grant("openid offline_access").await;
    let p = s.password_grant_public("openid offline_access").await;
    let sub = s
        .state()
        .store
        .get_user("alice")
        .await
        .unwrap()
        .unwrap()
        .sub;

    let all = baton(&cfg, &["grants", "list", "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "{all}");
    assert!(!all
        .to_string()
        .contains(t1["refresh_token"].as_str().unwrap()));
    let web = baton(&cfg, &["grants", "list", "--client", "web", "--json"], None)
        .await
        .ok()
        .json();
    let items = web["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .all(|g| g["client_id"] == "web" && g["status"] == "active"));
    let r = baton(&cfg, &["grants", "list", "--subject", &sub], None)
        .await
        .ok();
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    assert!(r.stdout.starts_with("GRANT_ID"));
    let r = baton(&cfg, &["grants", "list", "--limit", "1", "--json"], None)
        .await
        .ok();
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);

    // Revoke the web client's grants: the next refresh fails; spa's still works.
    let r = baton(&cfg, &["revoke", "--client", "web"], None).await.ok();
    assert_eq!(r.stdout.trim(), "revoked 2 grant(s)");
    let (st, v) = s.refresh(t1["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error_description"].as_str().unwrap().contains("revoked"),
        "{v}"
    );
    let (st, _) = s.refresh_public(p["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);

    // One grant by id; then nothing left to revoke.
    let spa = baton(&cfg, &["grants", "list", "--client", "spa", "--json"], None)
        .await
        .ok()
        .json();
    let gid = spa["items"][0]["grant_id"].as_str().unwrap().to_string();
    let v = baton(&cfg, &["revoke", "--grant", &gid, "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(v["revoked"], 1);
    let v = baton(&cfg, &["revoke", "--subject", &sub, "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(v["revoked"], 0);

    // Events: newest first, filtered.
    let ev = baton(&cfg, &["events", "--type", "grant.revoked", "--json"], None)
        .await
        .ok()
        .json();
    let ev = ev.as_array().unwrap();
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert_eq!(ev[0]["grant_id"], gid.as_str());
    assert!(
        ev.iter().all(|e| e["details"]["reason"] == "admin"),
        "{ev:?}"
    );
    let ev = baton(
        &cfg,
        &[
            "events",
            "--type",
            "grant.revoked",
            "--client",
            "web",
            "--limit",
            "1",
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(ev.as_array().unwrap().len(), 1);
    let future = baton(
        &cfg,
        &["events", "--since", "2999-01-01T00:00:00Z", "--json"],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(future, serde_json::json!([]));
    let r = baton(&cfg, &["events", "--type", "grant.created"], None)
        .await
        .ok();
    assert!(r.stdout.starts_with("TIME"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
}

#[tokio::test]
async fn keys_rotate_retires_the_old_keys() {
    let (_dir, cfg) = setup().await;
    let v = baton(&cfg, &["keys", "rotate", "--json"], None)
        .await
        .ok()
        .json();
    let active = v["active"].as_array().unwrap();
    let retired = v["retired"].as_array().unwrap();
    assert_eq!(active.len(), 3, "{v}");
    assert_eq!(retired.len(), 3, "{v}");
    assert!(retired.iter().all(|k| k["retired_at"].is_string()));
    let r = baton(&cfg, &["keys", "rotate"], None).await.ok();
    assert!(r.stdout.starts_with("KID"), "{}", r.stdout);
    assert_eq!(r.stdout.matches(" retired ").count(), 3, "{}", r.stdout);
    let ev = baton(&cfg, &["events", "--type", "keys.rotated", "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(ev.as_array().unwrap().len(), 2);
}
