//! `GET, POST /logout` (OIDC RP-Initiated Logout 1.0): `id_token_hint`, `client_id`,
//! `post_logout_redirect_uri` (exact match), `state`, the confirmation page, and never a
//! redirect to anything unregistered.

use super::*;
use baton_testkit::flow::hidden_inputs;

#[tokio::test]
async fn discovery_advertises_logout() {
    let s = TestServer::start("").await;
    let v = get_json(&s, "/.well-known/openid-configuration").await;
    assert_eq!(v["end_session_endpoint"], format!("{}/logout", s.url));
    assert_eq!(v["backchannel_logout_supported"], true);
    assert_eq!(v["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn valid_hint_ends_the_session_and_its_grants_per_client() {
    let s = TestServer::start(&clients(None, "")).await;
    let online = flow(&s, RP, "openid online_access").await;
    let offline = flow(&s, RP, "openid offline_access").await;
    let kept_online = flow(&s, KEEPER, "openid online_access").await;
    let kept_offline = flow(&s, KEEPER, "openid offline_access").await;
    let elsewhere = s
        .post_form(
            "/token",
            Some(RP),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password"),
                ("scope", "openid offline_access"),
            ],
        )
        .await
        .1;
    let sid = sid_of(&offline.tokens);
    assert_eq!(sid, sid_of(&kept_offline.tokens), "one browser session");
    assert!(is_live(&s, &sid).await);

    let r = logout(
        &s,
        &[("id_token_hint", str_of(&offline.tokens, "id_token"))],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(clears_session_cookie(&r), "the session cookie is cleared");
    let page = r.text().await.unwrap();
    assert!(page.contains("You are signed out"), "{page}");

    assert!(!is_live(&s, &sid).await, "the session ended");
    // online_access dies with the session whatever the client's setting.
    let rt = |f: &Flow| str_of(&f.tokens, "refresh_token").to_string();
    assert_invalid_grant(refresh_as(&s, RP, &rt(&online)).await);
    assert_invalid_grant(refresh_as(&s, KEEPER, &rt(&kept_online)).await);
    // offline_access dies only where revoke_on_logout is true (the default).
    assert_invalid_grant(refresh_as(&s, RP, &rt(&offline)).await);
    let (st, v) = refresh_as(&s, KEEPER, &rt(&kept_offline)).await;
    assert_eq!(st, StatusCode::OK, "revoke_on_logout = false keeps it: {v}");
    // A grant from no browser session is untouched.
    let (st, v) = refresh_as(&s, RP, str_of(&elsewhere, "refresh_token")).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let ended = s.events("session.ended").await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].details["session_id"], sid.as_str());
    assert_eq!(ended[0].details["reason"], "logout");
    assert!(!signed_in(&s).await, "a new /authorize asks to sign in");
}

#[tokio::test]
async fn registered_post_logout_redirect_uri_gets_the_state() {
    let s = TestServer::start(&clients(None, "")).await;
    let f = flow(&s, RP, "openid").await;
    let sid = sid_of(&f.tokens);
    let r = logout(
        &s,
        &[
            ("id_token_hint", str_of(&f.tokens, "id_token")),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "st 1&2"),
            ("client_id", "rp"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some("http://127.0.0.1:9/logged-out?state=st+1%262")
    );
    assert!(clears_session_cookie(&r));
    assert!(!is_live(&s, &sid).await);

    // A registered URI with a query keeps it; no state, no state parameter.
    let f = flow(&s, RP, "openid").await;
    let r = logout(
        &s,
        &[
            ("id_token_hint", str_of(&f.tokens, "id_token")),
            ("post_logout_redirect_uri", APP_BYE),
        ],
    )
    .await;
    assert_eq!(location(&r).as_deref(), Some(APP_BYE));
}

#[tokio::test]
async fn rp_initiated_logout_may_be_a_form_post() {
    let s = TestServer::start(&clients(None, "")).await;
    let f = flow(&s, RP, "openid").await;
    let sid = sid_of(&f.tokens);
    let r = s
        .http
        .post(format!("{}/logout", s.url))
        .form(&[
            ("id_token_hint", str_of(&f.tokens, "id_token")),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some("http://127.0.0.1:9/logged-out?state=xyz")
    );
    assert!(!is_live(&s, &sid).await);
}

#[tokio::test]
async fn an_expired_id_token_is_still_a_hint() {
    let s = TestServer::start(&clients(None, "[sessions]\nidle_lifetime = \"3h\"\n")).await;
    let f = flow(&s, RP, "openid").await;
    let sid = sid_of(&f.tokens);
    s.advance(baton_core::time::Dur::secs(2 * 3600)); // the ID token lived 1 h
    let r = logout(
        &s,
        &[
            ("id_token_hint", str_of(&f.tokens, "id_token")),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await;
    assert_eq!(location(&r).as_deref(), Some(LOGGED_OUT));
    assert!(!is_live(&s, &sid).await);
}

/// A JWT like `jwt` with its claims replaced by `claims` (signature kept: now invalid).
fn tampered(jwt: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let mut claims = baton_testkit::flow::jwt_claims(jwt);
    edit(&mut claims);
    parts[1] = baton_testkit::flow::b64url(claims.to_string().as_bytes());
    parts.join(".")
}

/// The same claims, unsigned (`alg: none`).
fn unsigned(jwt: &str) -> String {
    let claims = baton_testkit::flow::jwt_claims(jwt);
    format!(
        "{}.{}.",
        baton_testkit::flow::b64url(br#"{"alg":"none","typ":"JWT"}"#),
        baton_testkit::flow::b64url(claims.to_string().as_bytes())
    )
}

/// Nothing but a page: no redirect, the session still live, nothing recorded.
async fn assert_no_redirect_no_change(s: &TestServer, sid: &str, r: Response, what: &str) {
    let status = r.status();
    assert!(
        !status.is_redirection() && location(&r).is_none(),
        "{what}: must not redirect, got {status} to {:?}",
        location(&r)
    );
    assert!(status.is_client_error(), "{what}: a 4xx page, got {status}");
    assert!(!clears_session_cookie(&r), "{what}: the cookie stays");
    let page = r.text().await.unwrap();
    assert!(page.contains("<h1>"), "{what}: a page: {page}");
    assert!(is_live(s, sid).await, "{what}: the session is still live");
    assert!(s.events("session.ended").await.is_empty(), "{what}");
}

#[tokio::test]
async fn forged_hints_and_unregistered_uris_never_redirect() {
    let s = TestServer::start(&clients(None, "")).await;
    let f = flow(&s, RP, "openid").await;
    let sid = sid_of(&f.tokens);
    let id_token = str_of(&f.tokens, "id_token").to_string();
    let access_token = str_of(&f.tokens, "access_token").to_string();

    let forged = [
        (
            tampered(&id_token, |c| c["aud"] = "keeper".into()),
            "altered aud",
        ),
        (
            tampered(&id_token, |c| c["sid"] = "someone-else".into()),
            "altered sid",
        ),
        (unsigned(&id_token), "alg none"),
        (access_token.clone(), "an access token"),
        ("not-a-jwt".to_string(), "junk"),
        (format!("{id_token}x"), "bad signature bytes"),
    ];
    for (hint, what) in &forged {
        let r = logout(
            &s,
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "s"),
            ],
        )
        .await;
        assert_no_redirect_no_change(&s, &sid, r, what).await;
    }

    let attempts = [
        "https://evil.example/",
        "//evil.example/logged-out",
        "http://127.0.0.1:9@evil.example/logged-out",
        "http://evil.example/logged-out",
        "HTTP://127.0.0.1:9/logged-out",
        "http://127.0.0.1:9/logged-out/",
        "http://127.0.0.1:9/logged-out?x=1",
        "http://127.0.0.1:9/logged-out#frag",
        "http://127.0.0.1:9/logged-out/../../evil",
        " http://127.0.0.1:9/logged-out",
        "javascript:alert(1)",
        "data:text/html,hi",
        "/logged-out",
        "http://127.0.0.1:9/cb",
    ];
    for uri in attempts {
        let r = logout(
            &s,
            &[
                ("id_token_hint", id_token.as_str()),
                ("post_logout_redirect_uri", uri),
                ("state", "s"),
            ],
        )
        .await;
        assert_no_redirect_no_change(&s, &sid, r, uri).await;
        // Without a hint, with the client named: no redirect either.
        let r = logout(
            &s,
            &[("client_id", "rp"), ("post_logout_redirect_uri", uri)],
        )
        .await;
        assert_no_redirect_no_change(&s, &sid, r, uri).await;
    }
    // Another client's registered URI is not this client's.
    let r = logout(
        &s,
        &[
            ("client_id", "keeper"),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await;
    assert_no_redirect_no_change(&s, &sid, r, "keeper + rp's URI").await;
    // A URI with no client to check it against.
    let r = logout(&s, &[("post_logout_redirect_uri", LOGGED_OUT)]).await;
    assert_no_redirect_no_change(&s, &sid, r, "no client").await;
    // client_id that disagrees with the hint.
    let r = logout(
        &s,
        &[
            ("id_token_hint", id_token.as_str()),
            ("client_id", "keeper"),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await;
    assert_no_redirect_no_change(&s, &sid, r, "client_id mismatch").await;
    // Unknown client, malformed query.
    let r = logout(&s, &[("client_id", "nobody")]).await;
    assert_no_redirect_no_change(&s, &sid, r, "unknown client").await;
    let r = s
        .http
        .get(format!(
            "{}/logout?state=a&state=b&post_logout_redirect_uri={LOGGED_OUT}",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert_no_redirect_no_change(&s, &sid, r, "state twice").await;
    let r = s
        .http
        .get(format!("{}/logout?state=%zz", s.url))
        .send()
        .await
        .unwrap();
    assert_no_redirect_no_change(&s, &sid, r, "bad percent-encoding").await;
    let long = "a".repeat(5000);
    let r = logout(
        &s,
        &[("id_token_hint", id_token.as_str()), ("state", &long)],
    )
    .await;
    assert_no_redirect_no_change(&s, &sid, r, "huge state").await;

    // The forged-hint page still lets the user sign out, but never sends them anywhere.
    let r = logout(
        &s,
        &[
            ("id_token_hint", forged[0].0.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await;
    let fields = hidden_inputs(&r.text().await.unwrap());
    let mut form: Vec<(String, String)> = fields.into_iter().collect();
    form.push(("confirm".into(), "yes".into()));
    let r = Browser::shared(&s).post("/logout", &form).await;
    assert_eq!(r.status(), StatusCode::OK, "signed out, no redirect");
    assert!(location(&r).is_none());
    assert!(!is_live(&s, &sid).await);
}

#[tokio::test]
async fn missing_hint_asks_for_confirmation_with_csrf() {
    let s = TestServer::start(&clients(None, "")).await;
    let f = flow(&s, RP, "openid offline_access").await;
    let sid = sid_of(&f.tokens);
    let r = logout(
        &s,
        &[
            ("client_id", "rp"),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "abc"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!clears_session_cookie(&r));
    let page = r.text().await.unwrap();
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(
        page.contains("Relying Party"),
        "names the application: {page}"
    );
    let fields = hidden_inputs(&page);
    assert!(
        fields.contains_key("csrf") && fields.contains_key("logout"),
        "{fields:?}"
    );
    assert!(is_live(&s, &sid).await, "asking changes nothing");

    let b = Browser::shared(&s);
    let with = |drop: &str, csrf: Option<&str>| {
        let mut f: Vec<(String, String)> = fields
            .iter()
            .filter(|(k, _)| k.as_str() != drop)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(c) = csrf {
            f.retain(|(k, _)| k != "csrf");
            f.push(("csrf".into(), c.into()));
        }
        f.push(("confirm".into(), "yes".into()));
        f
    };
    // Without the CSRF token, with a forged one, or from another browser: 403.
    for form in [with("csrf", None), with("", Some("AAAA"))] {
        let r = b.post("/logout", &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let r = Browser::fresh(&s).post("/logout", &with("", None)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF cookie");
    // A forged handle.
    let mut bad = with("logout", None);
    bad.push(("logout".into(), "eyJ4Ijp0cnVlfQ.AAAA".into()));
    assert_eq!(
        b.post("/logout", &bad).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(is_live(&s, &sid).await, "refused forms change nothing");
    assert!(s.events("session.ended").await.is_empty());

    // The real form: the session ends, back to the registered URI with the state.
    let r = b.post("/logout", &with("", None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some("http://127.0.0.1:9/logged-out?state=abc")
    );
    assert!(clears_session_cookie(&r));
    assert!(!is_live(&s, &sid).await);
    assert_invalid_grant(refresh_as(&s, RP, str_of(&f.tokens, "refresh_token")).await);
    assert!(!signed_in(&s).await);
}

#[tokio::test]
async fn bare_logout_confirms_then_shows_the_signed_out_page() {
    let s = TestServer::start(&clients(None, "")).await;
    let f = flow(&s, RP, "openid").await;
    let sid = sid_of(&f.tokens);
    let r = logout(&s, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut form: Vec<(String, String)> = hidden_inputs(&r.text().await.unwrap())
        .into_iter()
        .collect();
    form.push(("confirm".into(), "yes".into()));
    let r = Browser::shared(&s).post("/logout", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(clears_session_cookie(&r));
    assert!(r.text().await.unwrap().contains("You are signed out"));
    assert!(!is_live(&s, &sid).await);
    // Signed out already: no confirmation, just the page.
    let r = logout(&s, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("You are signed out"));
}

#[tokio::test]
async fn a_hint_for_another_session_asks_first() {
    let s = TestServer::start(&clients(None, "")).await;
    let old = flow(&s, RP, "openid").await;
    let old_sid = sid_of(&old.tokens);
    // Signed out, then in again: the old ID token names a session that is over.
    let r = logout(&s, &[("id_token_hint", str_of(&old.tokens, "id_token"))]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let new = flow(&s, RP, "openid").await;
    let new_sid = sid_of(&new.tokens);
    assert_ne!(old_sid, new_sid);
    let r = logout(
        &s,
        &[
            ("id_token_hint", str_of(&old.tokens, "id_token")),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(location(&r).is_none());
    assert!(r.text().await.unwrap().contains("Sign out?"));
    assert!(
        is_live(&s, &new_sid).await,
        "the current session is not ended unasked"
    );

    // A valid hint with no session in this browser: straight back to the application.
    let other = Browser::fresh(&s);
    let r = other
        .get(&format!(
            "/logout?id_token_hint={}&post_logout_redirect_uri={}&state=q",
            str_of(&new.tokens, "id_token"),
            LOGGED_OUT
        ))
        .await;
    assert_eq!(
        location(&r).as_deref(),
        Some("http://127.0.0.1:9/logged-out?state=q")
    );
    assert!(
        is_live(&s, &new_sid).await,
        "another browser's session is not ended"
    );
}
