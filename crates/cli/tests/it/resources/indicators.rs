//! RFC 8707 at /authorize, the code exchange, refresh, the password and client
//! credentials grants: which resource a token is for, what it carries, and refusals
//! that change nothing.

use super::*;
use crate::support::{grant_of, snapshot};
use baton_testkit::flow::location;

#[tokio::test]
async fn one_refresh_token_serves_two_apis_alternately() {
    let s = start().await;
    let (code, ver) = authorize(
        &s,
        "app",
        "openid offline_access invoices.read orders.read",
        &[INVOICES, ORDERS],
    )
    .await;
    let (st, v) = exchange_for(&s, APP, &code, &ver, Some(INVOICES)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let a = claims_of(at(&v));
    assert_eq!(a["aud"], INVOICES);
    assert_eq!(a["scope"], "invoices.read", "only the API's scopes");
    assert_eq!(v["scope"], "invoices.read");
    assert_eq!(a["client_id"], "app");
    // The resource's own algorithm and lifetime.
    assert_eq!(header_of(at(&v))["alg"], "ES256");
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 120);
    assert_eq!(v["expires_in"], 120);
    // The ID token is still issued (openid in the grant).
    assert!(v["id_token"].is_string(), "{v}");
    let mut t = rt(&v);
    let grant = grant_of(&s, &t).await;
    assert_eq!(
        grant.resources,
        vec![INVOICES.to_string(), ORDERS.to_string()]
    );

    let mut seen = vec![t.clone()];
    for (i, r) in [ORDERS, INVOICES, ORDERS, INVOICES].iter().enumerate() {
        let (st, v) = refresh(&s, APP, &t, Some(r)).await;
        assert_eq!(st, StatusCode::OK, "refresh {i} for {r}: {v}");
        if *r == ORDERS {
            // A reference-token API: opaque, its audience known to introspection.
            assert!(at(&v).starts_with("bat_"), "{v}");
            assert_eq!(v["scope"], "orders.read");
        } else {
            assert_eq!(claims_of(at(&v))["aud"], INVOICES);
            assert_eq!(v["scope"], "invoices.read");
        }
        t = rt(&v);
        assert!(!seen.contains(&t), "the refresh token rotates every time");
        seen.push(t.clone());
    }
    // The grant is unchanged by the audiences it served, and nothing counted as reuse.
    let after = grant_of(&s, &t).await;
    assert_eq!(after.resources, grant.resources);
    assert_eq!(after.scope, grant.scope);
    assert_eq!(after.generation, grant.generation + 4);
    assert!(s.events("token.reuse_detected").await.is_empty());
    // Without `resource` (and no default resource): a token for the client itself,
    // with the grant's whole scope, as before resources existed.
    let (st, v) = refresh(&s, APP, &t, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let a = claims_of(at(&v));
    assert_eq!(a["aud"], "app");
    assert_eq!(
        a["scope"],
        "openid offline_access invoices.read orders.read"
    );
}

#[tokio::test]
async fn a_refresh_naming_a_resource_not_granted_changes_nothing_and_the_token_still_works() {
    let s = start().await;
    let (code, ver) = authorize(&s, "app", "offline_access invoices.read", &[INVOICES]).await;
    let (_, v) = exchange_for(&s, APP, &code, &ver, None).await;
    let t = rt(&v);
    let before = grant_of(&s, &t).await;
    let counts = snapshot(&s).await;
    let cases: [(&[&str], &str); 5] = [
        // The client may request it, the grant does not hold it.
        (&[ORDERS], "not one this grant holds"),
        // Neither the grant nor the client.
        (&[HIDDEN], "not one this grant holds"),
        (&["not a uri"], "not one this grant holds"),
        (&[INVOICES, ORDERS], "one resource per token request"),
        (&[INVOICES, INVOICES], "one resource per token request"),
    ];
    for (asked, why) in cases {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", t.as_str()),
        ];
        for r in asked {
            form.push(("resource", r));
        }
        let got = token(&s, APP, &form).await;
        assert_invalid_target(&got, why);
        assert_eq!(grant_of(&s, &t).await, before, "{asked:?}");
        assert_eq!(snapshot(&s).await, counts, "{asked:?}: no event, no grant");
    }
    // Long after the grace period: the presented token is still the current one.
    s.advance(baton_core::time::Dur::secs(120));
    let (st, v) = refresh(&s, APP, &t, Some(INVOICES)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(claims_of(at(&v))["aud"], INVOICES);
    assert!(s.events("token.reuse_detected").await.is_empty());
}

#[tokio::test]
async fn authorize_refuses_resources_the_client_may_not_have() {
    let s = start().await;
    for (r, why) in [
        (HIDDEN, "may not request this resource"),
        ("https://api.test/unknown", "may not request this resource"),
        ("relative/path", "absolute URI"),
        ("https://api.test/invoices#frag", "absolute URI"),
    ] {
        let mut p = AuthParams::new("app", "openid invoices.read");
        p.extra.push(("resource".into(), r.into()));
        let resp = Browser::shared(&s).authorize(&p).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{r}");
        let cb = baton_testkit::flow::Callback::parse(&location(&resp).unwrap());
        assert_eq!(cb.error(), Some("invalid_target"), "{r}: {}", cb.url);
        assert!(
            cb.get("error_description").unwrap_or("").contains(why),
            "{r}: {}",
            cb.url
        );
    }
    // A resource the client lists but that is switched off is unknown.
    let store = &s.state().store;
    let mut orders = store.get_resource(ORDERS).await.unwrap().unwrap();
    orders.active = false;
    store.upsert_resource(&orders).await.unwrap();
    let mut p = AuthParams::new("app", "openid orders.read");
    p.extra.push(("resource".into(), ORDERS.into()));
    let resp = Browser::shared(&s).authorize(&p).await;
    let cb = baton_testkit::flow::Callback::parse(&location(&resp).unwrap());
    assert_eq!(cb.error(), Some("invalid_target"), "{}", cb.url);
}

#[tokio::test]
async fn the_consent_page_says_what_each_api_may_do_and_a_new_api_asks_again() {
    let s = start().await;
    let b = Browser::shared(&s);
    let mut p = AuthParams::new("app", "openid invoices.read orders.read");
    p.extra.push(("resource".into(), INVOICES.into()));
    p.extra.push(("resource".into(), ORDERS.into()));
    let resp = b.authorize(&p).await;
    let login = location(&resp).unwrap();
    let resp = b.login(&login, "alice", "alice-password").await;
    let consent = location(&resp).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let page = b.get(&consent).await.text().await.unwrap();
    for words in [
        "Invoices",
        INVOICES,
        "see your invoices",
        ORDERS,
        "orders.read",
        "a permission defined by this service",
        "confirm who you are",
    ] {
        assert!(
            page.contains(words),
            "{words:?} on the consent page:\n{page}"
        );
    }
    let cb = b.drive(b.consent(&consent, "allow").await, "allow").await;
    assert!(cb.get("code").is_some(), "{}", cb.url);
    // The same APIs again: remembered, no consent page.
    let again = b.authorize(&p).await;
    let loc = location(&again).unwrap();
    assert!(loc.starts_with(CB), "remembered consent: {loc}");
    // Fewer: remembered too. Another API: asked again.
    let mut fewer = AuthParams::new("app", "openid invoices.read");
    fewer.extra.push(("resource".into(), INVOICES.into()));
    assert!(location(&b.authorize(&fewer).await)
        .unwrap()
        .starts_with(CB));
    let s2 = &s;
    let mut other = AuthParams::new("app-default", "openid invoices.read");
    other.extra.push(("resource".into(), INVOICES.into()));
    let loc = location(&Browser::shared(s2).authorize(&other).await).unwrap();
    assert!(loc.starts_with("/consent"), "another client asks: {loc}");
}

#[tokio::test]
async fn a_code_exchange_for_a_resource_not_authorised_keeps_the_code() {
    let s = start().await;
    let (code, ver) = authorize(&s, "app", "openid invoices.read", &[INVOICES]).await;
    let got = exchange_for(&s, APP, &code, &ver, Some(ORDERS)).await;
    assert_invalid_target(&got, "not one this grant holds");
    let (st, v) = exchange_for(&s, APP, &code, &ver, Some(INVOICES)).await;
    assert_eq!(st, StatusCode::OK, "the code is still usable: {v}");
    assert_eq!(claims_of(at(&v))["aud"], INVOICES);
}

#[tokio::test]
async fn a_default_resource_applies_when_none_is_named() {
    let s = start().await;
    let client = ClientAuth::Basic("app-default", SECRET);
    let (code, ver) = authorize(
        &s,
        "app-default",
        "openid offline_access invoices.read",
        &[],
    )
    .await;
    let (st, v) = exchange_for(&s, client, &code, &ver, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(claims_of(at(&v))["aud"], INVOICES);
    assert_eq!(v["scope"], "invoices.read");
    let t = rt(&v);
    assert_eq!(grant_of(&s, &t).await.resources, vec![INVOICES.to_string()]);
    // The admin API shows what the grant is for.
    let q = baton_proto::admin::GrantListQuery {
        client_id: Some("app-default".into()),
        ..Default::default()
    };
    let listed = baton_server::admin::ops::list_grants(s.state(), q)
        .await
        .unwrap();
    assert_eq!(listed.items[0].resources, vec![INVOICES.to_string()]);
    let (st, v) = refresh(&s, client, &t, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(claims_of(at(&v))["aud"], INVOICES);
}

#[tokio::test]
async fn client_credentials_and_password_grants_take_a_resource() {
    let s = start().await;
    // Client credentials without scope: every scope of the API the client may have.
    let (st, v) = token(
        &s,
        APP,
        &[("grant_type", "client_credentials"), ("resource", INVOICES)],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let a = claims_of(at(&v));
    assert_eq!(a["aud"], INVOICES);
    assert_eq!(a["sub"], "app");
    assert_eq!(a["scope"], "invoices.read invoices.write");
    // With a scope: narrowed to the API's.
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", INVOICES),
        ("scope", "invoices.write orders.read"),
    ];
    let (st, v) = token(&s, APP, &form).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(claims_of(at(&v))["scope"], "invoices.write");
    let got = token(
        &s,
        APP,
        &[("grant_type", "client_credentials"), ("resource", HIDDEN)],
    )
    .await;
    assert_invalid_target(&got, "may not request this resource");

    // Password: a refused resource spends no password attempt and records nothing.
    let counts = snapshot(&s).await;
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password"),
        ("scope", "offline_access orders.read"),
        ("resource", HIDDEN),
    ];
    assert_invalid_target(
        &token(&s, APP, &form).await,
        "may not request this resource",
    );
    assert_eq!(snapshot(&s).await, counts);
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password"),
        ("scope", "offline_access orders.read"),
        ("resource", ORDERS),
    ];
    let (st, v) = token(&s, APP, &form).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(at(&v).starts_with("bat_"));
    let t = rt(&v);
    assert_eq!(grant_of(&s, &t).await.resources, vec![ORDERS.to_string()]);
}
