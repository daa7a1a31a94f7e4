//! The login and consent pages: the exact forms, consent remembered, deny, prompt=login
//! and max_age, identical words for every failed sign-in, and no code for a client that
//! changed while the user was on the page.

use crate::support::html_page;
use baton_core::time::Dur;
use baton_testkit::flow::{hidden_inputs, location, AuthParams, Browser, Callback};
use baton_testkit::{TestServer, ALICE};

/// Authorizes and answers where the server sent the browser.
async fn next_step(b: &Browser<'_>, p: &AuthParams) -> String {
    let resp = b.authorize(p).await;
    assert_eq!(resp.status(), 303);
    location(&resp).unwrap()
}

#[tokio::test]
async fn forms_have_the_exact_fields_and_consent_names_offline_access() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let p = AuthParams::new("web", "openid email offline_access");
    let login = next_step(&b, &p).await;
    assert!(login.starts_with("/login?req="), "{login}");
    let page = html_page(b.get(&login).await, 200).await;
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(page.contains("name=\"username\"") && page.contains("name=\"password\""));
    let hidden = hidden_inputs(&page);
    assert!(
        hidden.contains_key("req") && hidden.contains_key("csrf"),
        "{hidden:?}"
    );

    let consent = location(&b.login(&login, ALICE.0, ALICE.1).await).unwrap();
    assert!(consent.starts_with("/consent?req="), "{consent}");
    let page = html_page(b.get(&consent).await, 200).await;
    assert!(page.contains("<form method=\"post\""));
    assert!(page.contains("name=\"decision\" value=\"allow\""), "{page}");
    assert!(page.contains("name=\"decision\" value=\"deny\""), "{page}");
    for scope in ["openid", "email", "offline_access"] {
        assert!(page.contains(scope), "{scope} listed");
    }
    assert!(page.contains("keep access while you are away"), "{page}");
    assert!(page.contains("Web App"), "the client's name is shown");
}

#[tokio::test]
async fn consent_is_remembered_until_more_is_asked() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let cb = b
        .authorize_and_allow(&AuthParams::new("web", "openid email"))
        .await;
    assert!(cb.get("code").is_some());
    assert_eq!(s.events("consent.granted").await.len(), 1);

    // Same scope again: straight back with a code, no page.
    let loc = next_step(&b, &AuthParams::new("web", "openid")).await;
    assert!(Callback::parse(&loc).get("code").is_some(), "{loc}");

    // offline_access was never granted: consent is asked again, naming it.
    let loc = next_step(&b, &AuthParams::new("web", "openid offline_access")).await;
    assert!(loc.starts_with("/consent"), "{loc}");

    // prompt=consent always asks.
    let mut p = AuthParams::new("web", "openid");
    p.prompt = Some("consent".into());
    assert!(next_step(&b, &p).await.starts_with("/consent"));
}

#[tokio::test]
async fn deny_sends_access_denied_and_records_no_consent() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let p = AuthParams::new("web", "openid offline_access");
    let cb = b.drive(b.authorize(&p).await, "deny").await;
    assert_eq!(cb.error(), Some("access_denied"), "{}", cb.url);
    assert_eq!(cb.get("state"), p.state.as_deref());
    assert_eq!(cb.get("iss"), Some(s.url.as_str()));
    assert!(cb.get("code").is_none());
    assert_eq!(s.events("consent.denied").await.len(), 1);
    assert!(s.events("consent.granted").await.is_empty());
    // Still not consented: the next request asks again.
    assert!(next_step(&b, &p).await.starts_with("/consent"));
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_sign_in() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    b.authorize_and_allow(&AuthParams::new("web", "openid"))
        .await;
    s.advance(Dur::secs(120));

    let mut p = AuthParams::new("web", "openid");
    p.prompt = Some("login".into());
    let login = next_step(&b, &p).await;
    assert!(login.starts_with("/login"), "prompt=login: {login}");
    // Signing in satisfies it: back to the client (consent is remembered).
    let back = location(&b.login(&login, ALICE.0, ALICE.1).await).unwrap();
    assert!(Callback::parse(&back).get("code").is_some(), "{back}");
    assert_eq!(s.events("login.succeeded").await.len(), 2);

    s.advance(Dur::secs(120));
    let mut p = AuthParams::new("web", "openid");
    p.max_age = Some(60);
    assert!(next_step(&b, &p).await.starts_with("/login"), "max_age=60");
    p.prompt = Some("none".into());
    let cb = Callback::parse(&next_step(&b, &p).await);
    assert_eq!(cb.error(), Some("login_required"));
    let mut p = AuthParams::new("web", "openid");
    p.max_age = Some(600);
    let cb = Callback::parse(&next_step(&b, &p).await);
    assert!(
        cb.get("code").is_some(),
        "max_age=600 is satisfied: {}",
        cb.url
    );
}

#[tokio::test]
async fn failed_sign_in_does_not_say_whether_the_user_exists() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let login = next_step(&b, &AuthParams::new("web", "openid")).await;
    let wrong_password = b.login(&login, "alice", "not-her-password").await;
    assert!(wrong_password.headers().get("set-cookie").is_none());
    let wrong_password = html_page(wrong_password, 401).await;
    let unknown_user = html_page(b.login(&login, "mallory", "not-her-password").await, 401).await;
    assert!(wrong_password.contains("The username or password is incorrect."));
    assert_eq!(wrong_password, unknown_user, "identical pages");
    // The events (for the operator) do say it: newest first, mallory then alice.
    let failed = s.events("login.failed").await;
    assert_eq!(failed.len(), 2);
    let alice = s.state().store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(failed[0].subject, None);
    assert_eq!(failed[1].subject.as_deref(), Some(alice.sub.as_str()));
    assert!(s.events("login.succeeded").await.is_empty());
}

#[tokio::test]
async fn cookies_are_http_only_and_same_site_lax() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let login = next_step(&b, &AuthParams::new("web", "openid")).await;
    let page = b.get(&login).await;
    let mut cookies = baton_testkit::flow::set_cookies(&page);
    let mut form: Vec<(String, String)> = hidden_inputs(&page.text().await.unwrap())
        .into_iter()
        .collect();
    form.push(("username".into(), ALICE.0.into()));
    form.push(("password".into(), ALICE.1.into()));
    let resp = b.post("/login", &form).await;
    assert_eq!(resp.status(), 303);
    cookies.extend(baton_testkit::flow::set_cookies(&resp));
    assert!(
        cookies.iter().any(|c| c.starts_with("baton_csrf=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("baton_session=")),
        "{cookies:?}"
    );
    for c in &cookies {
        assert!(c.contains("; HttpOnly"), "{c}");
        assert!(c.contains("; SameSite=Lax"), "{c}");
        assert!(!c.contains("Secure"), "http issuer: no Secure flag: {c}");
    }
}

#[tokio::test]
async fn an_old_or_altered_request_handle_is_refused() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let login = next_step(&b, &AuthParams::new("web", "openid")).await;
    let fields = b.form_fields(&login).await;
    let altered = login.replacen("req=", "req=x", 1);
    html_page(b.get(&altered).await, 400).await;
    s.advance(Dur::secs(601));
    html_page(b.get(&login).await, 400).await;
    let mut form: Vec<(String, String)> = fields.into_iter().collect();
    form.push(("username".into(), ALICE.0.into()));
    form.push(("password".into(), ALICE.1.into()));
    html_page(b.post("/login", &form).await, 400).await;
    assert!(s.events("login.succeeded").await.is_empty());
}

/// An administrator changed the client while the user was on the login or consent page:
/// the code is issued only if the client still allows it (active, the redirect URI
/// still registered, the code flow and every requested scope still allowed). Otherwise
/// an error page, never a redirect: the URI may no longer be the client's.
#[tokio::test]
async fn no_code_when_the_client_changed_before_it_was_issued() {
    use baton_core::model::{Client, GrantType};

    let s = TestServer::start("").await;
    let store = s.state().store.clone();
    let original = store.get_client("web").await.unwrap().unwrap();
    // Alice has consented to `openid email` for web.
    let cb = Browser::fresh(&s)
        .authorize_and_allow(&AuthParams::new("web", "openid email"))
        .await;
    assert!(cb.get("code").is_some(), "{}", cb.url);

    type Change = fn(&mut Client);
    let changes: &[(&str, Change)] = &[
        ("redirect URI removed", |c| {
            c.redirect_uris = vec!["http://127.0.0.1:9/other".into()]
        }),
        ("disabled", |c| c.active = false),
        ("code flow removed", |c| {
            c.grant_types.retain(|g| *g != GrantType::AuthorizationCode)
        }),
        ("scope removed", |c| c.scopes.retain(|x| x != "email")),
        ("deleted", |_| {}),
    ];
    for (what, change) in changes {
        // Through the login page (consent already given: the code follows sign-in),
        // and through the consent page (a scope not yet consented to).
        for scope in ["openid email", "openid email profile"] {
            store.upsert_client(&original).await.unwrap();
            let b = Browser::fresh(&s);
            let p = AuthParams::new("web", scope);
            let login = location(&b.authorize(&p).await).unwrap();
            assert!(login.starts_with("/login"), "{login}");
            let consent = if scope.ends_with("profile") {
                let next = location(&b.login(&login, ALICE.0, ALICE.1).await).unwrap();
                assert!(next.starts_with("/consent"), "{next}");
                Some(next)
            } else {
                None
            };
            let mut c = original.clone();
            change(&mut c);
            if *what == "deleted" {
                assert!(store.delete_client("web").await.unwrap());
            } else {
                store.upsert_client(&c).await.unwrap();
            }
            let granted = s.events("consent.granted").await.len();
            let resp = match &consent {
                None => b.login(&login, ALICE.0, ALICE.1).await,
                Some(at) => b.consent(at, "allow").await,
            };
            let status = resp.status().as_u16();
            assert!(
                location(&resp).is_none(),
                "{what} ({scope}): no redirect, got {:?}",
                location(&resp).map(|l| Callback::parse(&l).url)
            );
            html_page(resp, status).await;
            assert_eq!(status, 400, "{what} ({scope})");
            assert_eq!(
                s.events("consent.granted").await.len(),
                granted,
                "{what} ({scope}): no consent recorded"
            );
        }
    }
    // Restored, the same flow works again.
    store.upsert_client(&original).await.unwrap();
    let cb = Browser::fresh(&s)
        .authorize_and_allow(&AuthParams::new("web", "openid email"))
        .await;
    assert!(cb.get("code").is_some(), "{}", cb.url);
}
