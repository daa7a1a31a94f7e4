//! A resource server (a client with `introspect_resources`) sees exactly the access
//! tokens whose audience is its API; reference tokens keep their audience.

use super::*;
use serde_json::json;

async fn introspect(s: &TestServer, who: (&str, &str), token: &str) -> Value {
    let (st, v) = s
        .post_form("/introspect", Some(who), &[("token", token)])
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

const RS_ID: (&str, &str) = ("invoices-rs", SECRET);
const APP_ID: (&str, &str) = ("app", SECRET);

#[tokio::test]
async fn a_resource_server_sees_only_its_own_apis_tokens() {
    let s = start().await;
    let (code, ver) = authorize(
        &s,
        "app",
        "openid offline_access invoices.read orders.read",
        &[INVOICES, ORDERS],
    )
    .await;
    let (_, v) = exchange_for(&s, APP, &code, &ver, Some(INVOICES)).await;
    let invoices_at = at(&v).to_string();
    let t = rt(&v);
    let v = introspect(&s, RS_ID, &invoices_at).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["aud"], INVOICES);
    assert_eq!(v["scope"], "invoices.read");
    assert_eq!(v["client_id"], "app");

    // A token for another API (a reference token), one for the client itself, and
    // the refresh token: not the resource server's to see.
    let (_, o) = refresh(&s, APP, &t, Some(ORDERS)).await;
    let orders_at = at(&o).to_string();
    let t = rt(&o);
    let (_, c) = refresh(&s, APP, &t, None).await;
    let own_at = at(&c).to_string();
    let t = rt(&c);
    for tok in [&orders_at, &own_at, &t] {
        assert_eq!(introspect(&s, RS_ID, tok).await, json!({"active": false}));
    }
    // The client sees its own, each with its audience.
    let v = introspect(&s, APP_ID, &orders_at).await;
    assert_eq!(
        (v["active"].clone(), v["aud"].clone()),
        (json!(true), json!(ORDERS)),
        "{v}"
    );
    assert_eq!(v["scope"], "orders.read");
    let v = introspect(&s, APP_ID, &own_at).await;
    assert_eq!(v["aud"], "app", "{v}");

    // Once the grant is revoked, the API's token is inactive for its server too.
    let (st, _) = s
        .post_form("/revoke", Some(APP_ID), &[("token", t.as_str())])
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        introspect(&s, RS_ID, &invoices_at).await,
        json!({"active": false})
    );
}
