//! Roles, groups and claim mapping: per resource, per client and per token kind, and
//! refreshed on refresh where `update_claims_on_refresh` says.

use super::*;

async fn set_roles(s: &TestServer, roles: &[&str]) {
    let store = &s.state().store;
    let mut u = store.get_user("alice").await.unwrap().unwrap();
    u.roles = roles.iter().map(|r| r.to_string()).collect();
    store.upsert_user(&u).await.unwrap();
}

#[tokio::test]
async fn each_token_carries_the_claims_its_mapping_names() {
    let s = start().await;
    let (code, ver) = authorize(
        &s,
        "app",
        "openid email offline_access invoices.read orders.read",
        &[INVOICES, ORDERS],
    )
    .await;
    let (st, v) = exchange_for(&s, APP, &code, &ver, Some(INVOICES)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // The invoices API maps roles and department; its token has no `email` (the scope
    // the token carries is the API's, not `email`) and no groups.
    let a = claims_of(at(&v));
    assert_eq!(a["roles"], serde_json::json!(["accountant", "auditor"]));
    assert_eq!(a["department"], "ledger");
    assert!(a.get("groups").is_none() && a.get("email").is_none(), "{a}");
    // The client maps groups into ID tokens; email comes from the scope as always.
    let id = claims_of(v["id_token"].as_str().unwrap());
    assert_eq!(id["groups"], serde_json::json!(["finance"]));
    assert_eq!(id["email"], "alice@example.com");
    assert!(id.get("roles").is_none(), "{id}");
    // A token for the client itself (userinfo) releases the client's userinfo mapping.
    let t = rt(&v);
    let (_, c) = refresh(&s, APP, &t, None).await;
    let resp = s
        .http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(at(&c))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let u: Value = resp.json().await.unwrap();
    assert_eq!(
        u["roles"],
        serde_json::json!(["accountant", "auditor"]),
        "{u}"
    );
    assert_eq!(u["email"], "alice@example.com");
    assert!(u.get("groups").is_none(), "{u}");
}

#[tokio::test]
async fn roles_are_refreshed_on_refresh() {
    let s = start().await;
    let (code, ver) = authorize(&s, "app", "offline_access invoices.read", &[INVOICES]).await;
    let (_, v) = exchange_for(&s, APP, &code, &ver, Some(INVOICES)).await;
    set_roles(&s, &["controller"]).await;
    let (st, v) = refresh(&s, APP, &rt(&v), Some(INVOICES)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        claims_of(at(&v))["roles"],
        serde_json::json!(["controller"])
    );
    // No roles at all: the claim is left out, not an empty list.
    set_roles(&s, &[]).await;
    let (_, v) = refresh(&s, APP, &rt(&v), Some(INVOICES)).await;
    assert!(claims_of(at(&v)).get("roles").is_none());
}

#[tokio::test]
async fn without_update_claims_on_refresh_the_grant_keeps_the_roles_it_began_with() {
    let s = TestServer::start_raw(&fixture("update_claims_on_refresh = false")).await;
    let (code, ver) = authorize(
        &s,
        "app",
        "openid offline_access invoices.read",
        &[INVOICES],
    )
    .await;
    let (_, v) = exchange_for(&s, APP, &code, &ver, Some(INVOICES)).await;
    set_roles(&s, &["controller"]).await;
    let (st, v) = refresh(&s, APP, &rt(&v), Some(INVOICES)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        claims_of(at(&v))["roles"],
        serde_json::json!(["accountant", "auditor"])
    );
    assert_eq!(
        claims_of(v["id_token"].as_str().unwrap())["groups"],
        serde_json::json!(["finance"])
    );
}

#[tokio::test]
async fn discovery_lists_the_apis_scopes_and_the_mapped_claims() {
    let s = start().await;
    let d = crate::support::get_json(&s, "/.well-known/openid-configuration").await;
    let scopes = d["scopes_supported"].as_array().unwrap();
    for sc in ["invoices.read", "invoices.write", "orders.read", "openid"] {
        assert!(scopes.iter().any(|v| v == sc), "{sc} in {scopes:?}");
    }
    let claims = d["claims_supported"].as_array().unwrap();
    assert!(claims.iter().any(|v| v == "roles") && claims.iter().any(|v| v == "groups"));
}
