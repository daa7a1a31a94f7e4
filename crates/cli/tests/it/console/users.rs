//! `/console/users` and a user's page: list, search, paging; disable/enable, end a
//! session, revoke one grant or all, withdraw a consent; CSRF; non-admins refused.

use super::*;
use crate::support::grant_of;
use baton_testkit::flow::code_flow_full;
use baton_testkit::{ALICE, WEB};
use serde_json::Value;

fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string()
}

/// A refresh of `web`'s token: its status.
async fn refresh_status(s: &TestServer, token: &str) -> StatusCode {
    s.refresh(token).await.0
}

#[tokio::test]
async fn users_are_listed_searched_paged_and_shown() {
    let s = server("").await;
    let flow = code_flow_full(&s, WEB, "openid profile offline_access").await;
    let grant = grant_of(&s, &rt(&flow.tokens)).await;
    // 55 more users: more than a page (50).
    let store = &s.state().store;
    let alice = store.get_user("alice").await.unwrap().unwrap();
    for i in 0..55 {
        let mut u = alice.clone();
        u.sub = format!("u_extra_{i:02}");
        u.username = format!("extra{i:02}");
        store.upsert_user(&u).await.unwrap();
    }
    let b = signed_in(&s, ROOT, "/console/users").await;

    let first = page(&b, "/console/users").await;
    for want in [
        "/console/users/alice",
        "/console/users/extra00",
        "Next page",
    ] {
        assert!(first.contains(want), "{want} in {first}");
    }
    let next = first
        .split("href=\"")
        .filter_map(|p| p.split('"').next())
        .find(|h| h.contains("after="))
        .expect("a next-page link")
        .replace("&amp;", "&");
    let second = page(&b, &next).await;
    let users = |html: &str| -> Vec<String> {
        html.split("href=\"/console/users/")
            .skip(1)
            .filter_map(|p| p.split('"').next().map(str::to_string))
            .collect()
    };
    let (a, z) = (users(&first), users(&second));
    assert_eq!(a.len(), 50, "{a:?}");
    assert_eq!(a.len() + z.len(), 57, "alice, root and 55: {z:?}");
    assert!(a.iter().all(|u| !z.contains(u)), "no user on both pages");
    assert!(z.contains(&"root".to_string()));

    let found = page(&b, "/console/users?q=ALI").await;
    assert_eq!(users(&found), vec!["alice".to_string()], "case-insensitive");
    let by_sub = page(&b, &format!("/console/users?q={}", alice.sub)).await;
    assert_eq!(users(&by_sub), vec!["alice".to_string()], "by sub");
    assert!(page(&b, "/console/users?q=zzz")
        .await
        .contains("No user matches"));

    let u = page(&b, "/console/users/alice").await;
    let sid = grant.session_id.clone().expect("a session");
    for want in [
        format!("id=\"session-{sid}\""),
        format!("href=\"/console/grants/{}\"", grant.id.to_hex()),
        "href=\"/console/clients/web\"".to_string(),
        "Withdraw consent".to_string(),
        "openid profile offline_access".to_string(),
        format!("/console/events?user={}", alice.sub),
        "Revoke all grants of this user".to_string(),
    ] {
        assert!(u.contains(&want), "{want} in {u}");
    }
    assert_eq!(
        b.get("/console/users/nobody").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn each_action_changes_what_it_says_and_records_the_administrator() {
    let s = server("").await;
    s.api_managed_user("alice").await;
    let one = code_flow_full(&s, WEB, "openid offline_access").await;
    let one_rt = rt(&one.tokens);
    let g1 = grant_of(&s, &one_rt).await;
    let b = signed_in(&s, ROOT, "/console/users").await;
    let token = csrf(&b, "/console/users/alice").await;

    // Revoke one grant.
    let r = post_raw(
        &b,
        "/console/users/alice/grants/revoke",
        &[("csrf", &token), ("grant_id", &g1.id.to_hex())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some("/console/users/alice?done=grant")
    );
    assert_eq!(refresh_status(&s, &one_rt).await, StatusCode::BAD_REQUEST);
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].details["reason"], "admin");
    assert_eq!(revoked[0].details["actor"]["username"], ROOT.0);
    assert!(page(&b, "/console/users/alice?done=grant")
        .await
        .contains("The grant was revoked."));

    // A grant of another user cannot be revoked from alice's page.
    let root_grant = s
        .post_form(
            "/token",
            Some(WEB),
            &[
                ("grant_type", "password"),
                ("username", ROOT.0),
                ("password", ROOT.1),
                ("scope", "openid offline_access"),
            ],
        )
        .await
        .1;
    let root_rt = rt(&root_grant);
    let rg = grant_of(&s, &root_rt).await;
    let (st, _) = answer(
        post_raw(
            &b,
            "/console/users/alice/grants/revoke",
            &[("csrf", &token), ("grant_id", &rg.id.to_hex())],
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(refresh_status(&s, &root_rt).await, StatusCode::OK);

    // Withdraw the consent: gone, the client's grants of alice revoked, the event
    // names the administrator.
    let two = code_flow_full(&s, WEB, "openid offline_access").await;
    let two_rt = rt(&two.tokens);
    assert!(!s
        .state()
        .store
        .list_consents(&g1.subject)
        .await
        .unwrap()
        .is_empty());
    let r = post_raw(
        &b,
        "/console/users/alice/consents/revoke",
        &[("csrf", &token), ("client_id", "web")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(s
        .state()
        .store
        .list_consents(&g1.subject)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(refresh_status(&s, &two_rt).await, StatusCode::BAD_REQUEST);
    let ev = s.events("consent.revoked").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].client_id.as_deref(), Some("web"));
    assert_eq!(ev[0].details["revoked"], 1);
    assert_eq!(ev[0].details["actor"]["username"], ROOT.0);
    assert_eq!(ev[0].details["actor"]["via"], "console");
    let (st, _) = answer(
        post_raw(
            &b,
            "/console/users/alice/consents/revoke",
            &[("csrf", &token), ("client_id", "web")],
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "no consent left to withdraw");

    // Revoke all: every live grant of alice, none of root's.
    let three = rt(&code_flow_full(&s, WEB, "openid offline_access")
        .await
        .tokens);
    let four = rt(&code_flow_full(&s, WEB, "openid offline_access")
        .await
        .tokens);
    let r = post_raw(
        &b,
        "/console/users/alice/grants/revoke-all",
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for t in [&three, &four] {
        assert_eq!(refresh_status(&s, t).await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(refresh_status(&s, &root_rt).await, StatusCode::OK);

    // End a session: no longer live.
    let sid = grant_of(&s, &three).await.session_id.unwrap();
    let r = post_raw(
        &b,
        "/console/users/alice/sessions/end",
        &[("csrf", &token), ("session_id", &sid)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let now = s.state().clock.now();
    let sess = s.state().store.get_session(&sid).await.unwrap().unwrap();
    assert!(!sess.is_live(now));
    let ended = s.events("session.ended").await;
    assert_eq!(ended[0].details["reason"], "admin");
    assert_eq!(ended[0].details["actor"]["username"], ROOT.0);
    assert_eq!(ended[0].details["actor"]["via"], "console");
    let (st, _) = answer(
        post_raw(
            &b,
            "/console/users/alice/sessions/end",
            &[("csrf", &token), ("session_id", &sid)],
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "no longer live");

    // Disable, then enable.
    let r = post_raw(
        &b,
        "/console/users/alice/active",
        &[("csrf", &token), ("active", "false")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !s.state()
            .store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let changed = s.events("user.changed").await;
    assert_eq!(changed[0].details["changed"], serde_json::json!(["active"]));
    assert_eq!(changed[0].details["actor"]["username"], ROOT.0);
    assert!(page(&b, "/console/users/alice")
        .await
        .contains("Enable user"));
    let r = post_raw(
        &b,
        "/console/users/alice/active",
        &[("csrf", &token), ("active", "true")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        s.state()
            .store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .active
    );
}

#[tokio::test]
async fn a_user_of_the_configuration_file_cannot_be_disabled_here() {
    let s = server("").await;
    let b = signed_in(&s, ROOT, "/console/users").await;
    let html = page(&b, "/console/users/alice").await;
    assert!(html.contains("defined in the configuration file"), "{html}");
    assert!(!html.contains("Disable user"), "{html}");
    // The page has no form then; any console form's token will do.
    let token = csrf(&b, "/console/clients/new").await;
    let (st, body) = answer(
        post_raw(
            &b,
            "/console/users/alice/active",
            &[("csrf", &token), ("active", "false")],
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("configuration file"), "{body}");
    assert!(
        s.state()
            .store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .active
    );
}

#[tokio::test]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let s = server("").await;
    s.api_managed_user("alice").await;
    let one = code_flow_full(&s, WEB, "openid offline_access").await;
    let one_rt = rt(&one.tokens);
    let g = grant_of(&s, &one_rt).await;
    let b = signed_in(&s, ROOT, "/console/users").await;
    let real = csrf(&b, "/console/users/alice").await;
    let gid = g.id.to_hex();
    let sid = g.session_id.clone().unwrap();
    let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/console/users/alice/grants/revoke",
            vec![("grant_id", &gid)],
        ),
        ("/console/users/alice/grants/revoke-all", vec![]),
        (
            "/console/users/alice/consents/revoke",
            vec![("client_id", "web")],
        ),
        (
            "/console/users/alice/sessions/end",
            vec![("session_id", &sid)],
        ),
        ("/console/users/alice/active", vec![("active", "false")]),
    ];
    let other = Browser::fresh(&s);
    for (path, fields) in &forms {
        for token in [None, Some("forged"), Some(real.as_str())] {
            let mut f = fields.clone();
            if let Some(t) = token {
                f.push(("csrf", t));
            }
            // The real token in a browser without the admin's cookies is no use either:
            // that browser is not signed in.
            let who = if token == Some(real.as_str()) {
                &other
            } else {
                &b
            };
            let r = post_raw(who, path, &f).await;
            let want = if token == Some(real.as_str()) {
                StatusCode::SEE_OTHER
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status(), want, "{path} with {token:?}");
            if want == StatusCode::SEE_OTHER {
                let to = location(&r).unwrap();
                assert!(to.starts_with("/login"), "{path}: to {to}");
            }
        }
    }
    assert_eq!(refresh_status(&s, &one_rt).await, StatusCode::OK);
    assert!(
        s.state()
            .store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(s.events("grant.revoked").await.is_empty());
    assert!(s.events("consent.revoked").await.is_empty());
    assert!(s.events("session.ended").await.is_empty());
}

#[tokio::test]
async fn a_user_without_admin_is_refused_everywhere() {
    let s = server("").await;
    let one = code_flow_full(&s, WEB, "openid offline_access").await;
    let one_rt = rt(&one.tokens);
    let g = grant_of(&s, &one_rt).await;
    let b = signed_in(&s, ALICE, "/console/users").await;
    for path in [
        "/console/users".to_string(),
        "/console/users/alice".to_string(),
        format!("/console/grants/{}", g.id.to_hex()),
        "/console/events".to_string(),
    ] {
        let (st, body) = answer(b.get(&path).await).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("Not an administrator"), "{body}");
    }
    let r = post_raw(
        &b,
        "/console/users/alice/grants/revoke-all",
        &[("csrf", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(refresh_status(&s, &one_rt).await, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let s = server("").await;
    s.api_managed_user("alice").await;
    let one = code_flow_full(&s, WEB, "openid offline_access").await;
    let one_rt = rt(&one.tokens);
    let b = signed_in(&s, ROOT, "/console/users").await;
    let token = csrf(&b, "/console/users/alice").await;
    for (path, want) in [
        ("/console/users/alice?bogus=1", StatusCode::BAD_REQUEST),
        (
            "/console/users/alice?grants_after=zz",
            StatusCode::BAD_REQUEST,
        ),
        ("/console/users?q=a&bogus=1", StatusCode::BAD_REQUEST),
    ] {
        let (st, body) = answer(b.get(path).await).await;
        assert_eq!(st, want, "{path}: {body}");
    }
    for (path, fields) in [
        (
            "/console/users/alice/grants/revoke",
            vec![("grant_id", "zz")],
        ),
        ("/console/users/alice/grants/revoke", vec![]),
        (
            "/console/users/alice/grants/revoke-all",
            vec![("extra", "1")],
        ),
        ("/console/users/alice/active", vec![("active", "maybe")]),
        (
            "/console/users/alice/sessions/end",
            vec![("session_id", "")],
        ),
        (
            "/console/users/alice/consents/revoke",
            vec![("client_id", "web"), ("x", "y")],
        ),
    ] {
        let mut f = fields.clone();
        f.push(("csrf", &token));
        let (st, body) = answer(post_raw(&b, path, &f).await).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path} {fields:?}: {body}");
    }
    let (st, _) = answer(
        post_raw(
            &b,
            "/console/users/nobody/grants/revoke-all",
            &[("csrf", &token)],
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(refresh_status(&s, &one_rt).await, StatusCode::OK);
    assert!(
        s.state()
            .store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(s.events("grant.revoked").await.is_empty());
}
