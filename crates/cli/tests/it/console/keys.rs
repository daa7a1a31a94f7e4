//! `/console/keys`: rotating signing keys and the server-wide refresh-token settings,
//! through the admin ops (read back through the admin API and /jwks).

use super::*;
use crate::admin::jwks_kids;

#[tokio::test]
async fn rotating_keys_publishes_new_ones_and_shows_the_old_ones_retiring() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/keys").await;
    let before = jwks_kids(&s).await;
    let r = post(&b, "/console/keys", "/console/keys/rotate", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r).as_deref(), Some("/console/keys?done=rotated"));
    let after = jwks_kids(&s).await;
    assert_eq!(
        after.len(),
        before.len() * 2,
        "new keys published beside the old: {after:?}"
    );
    let keys = page(&b, "/console/keys?done=rotated").await;
    assert!(keys.contains("New signing keys were made"), "{keys}");
    for kid in &before {
        assert!(keys.contains(kid), "{kid}");
    }
    assert!(keys.contains("active, retiring at"), "{keys}");
    let ev = s.events("keys.rotated").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].details["actor"]["username"], "root");
}

#[tokio::test]
async fn the_settings_form_stores_only_what_changed() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/keys").await;
    let form = page(&b, "/console/keys").await;
    assert!(form.contains("name=\"rt_grace_period\""), "{form}");
    // What the form shows, with the grace period and reuse reaction changed.
    let r = post(
        &b,
        "/console/keys",
        "/console/settings",
        &[
            ("rt_usage", "auto"),
            ("rt_grace_period", "20"),
            ("rt_reuse_reaction", "revoke_client_user"),
            ("rt_absolute_lifetime", "30d"),
            ("rt_sliding_lifetime", "7d"),
            ("rt_persist", "true"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, v) = call(&s, "GET", "/admin/settings", None).await;
    assert_eq!(v["refresh_tokens"]["grace_period"], "20s");
    assert_eq!(v["refresh_tokens"]["reuse_reaction"], "revoke_client_user");
    let ev = s.events("settings.changed").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0].details["refresh_tokens"],
        serde_json::json!({"grace_period": "20s", "reuse_reaction": "revoke_client_user"}),
        "only the changed keys"
    );
    assert_eq!(ev[0].details["actor"]["via"], "console");
    // A client inherits the new value: its page says so.
    let web = page(&b, "/console/clients/web").await;
    assert!(
        web.contains("Inherited from the server-wide settings: <strong>20s</strong>"),
        "{web}"
    );
    // Out of range: refused, naming the key, nothing stored.
    let r = post(
        &b,
        "/console/keys",
        "/console/settings",
        &[("rt_grace_period", "90")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("grace_period"));
    assert_eq!(
        call(&s, "GET", "/admin/settings", None).await.1["refresh_tokens"]["grace_period"],
        "20s"
    );
    assert_eq!(s.events("settings.changed").await.len(), 1);
}
