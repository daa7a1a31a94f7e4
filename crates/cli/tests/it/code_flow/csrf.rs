//! CSRF protection on the login and consent forms: a post without the token, or from a
//! browser without the matching cookie, is refused with a 403 page and changes nothing.

use crate::support::{html_page, snapshot};
use baton_testkit::flow::{location, AuthParams, Browser};
use baton_testkit::{TestServer, ALICE};
use std::collections::HashMap;

fn form(fields: &HashMap<String, String>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = fields.clone().into_iter().collect();
    f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f
}

#[tokio::test]
async fn login_without_csrf_creates_no_session() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let login = location(&b.authorize(&AuthParams::new("web", "openid")).await).unwrap();
    let fields = b.form_fields(&login).await;
    let creds = [("username", ALICE.0), ("password", ALICE.1)];
    let before = snapshot(&s).await;

    let mut no_token = fields.clone();
    no_token.remove("csrf");
    let mut forged = fields.clone();
    forged.insert("csrf".into(), "AAAA".into());
    // Another browser (no CSRF cookie) replaying this browser's form.
    let other = Browser::fresh(&s);
    for (who, f) in [
        (&b, form(&no_token, &creds)),
        (&b, form(&forged, &creds)),
        (&other, form(&fields, &creds)),
    ] {
        let resp = who.post("/login", &f).await;
        assert!(
            baton_testkit::flow::set_cookies(&resp)
                .iter()
                .all(|c| !c.starts_with("baton_session")),
            "no session cookie"
        );
        let page = html_page(resp, 403).await;
        assert!(page.contains("CSRF"), "{page}");
    }
    assert_eq!(snapshot(&s).await, before, "nothing stored");
    assert!(s.events("login.succeeded").await.is_empty());
    // And no session exists: the browser is still asked to sign in.
    let again = location(&b.authorize(&AuthParams::new("web", "openid")).await).unwrap();
    assert!(again.starts_with("/login"), "{again}");
}

#[tokio::test]
async fn consent_without_csrf_grants_nothing() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let login = location(&b.authorize(&AuthParams::new("web", "openid")).await).unwrap();
    let consent = location(&b.login(&login, ALICE.0, ALICE.1).await).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let fields = b.form_fields(&consent).await;
    let before = snapshot(&s).await;

    let mut no_token = fields.clone();
    no_token.remove("csrf");
    let resp = b
        .post("/consent", &form(&no_token, &[("decision", "allow")]))
        .await;
    html_page(resp, 403).await;
    let other = Browser::fresh(&s);
    let resp = other
        .post("/consent", &form(&fields, &[("decision", "allow")]))
        .await;
    html_page(resp, 403).await;

    assert_eq!(snapshot(&s).await, before, "nothing stored");
    let sub = &s.events("login.succeeded").await[0]
        .subject
        .clone()
        .unwrap();
    let consented = s.state().store.get_consent(sub, "web").await.unwrap();
    assert!(consented.scopes.is_empty(), "{consented:?}");
    // The genuine form still works afterwards.
    let ok = b
        .post("/consent", &form(&fields, &[("decision", "allow")]))
        .await;
    assert_eq!(ok.status(), 303);
    assert!(location(&ok).unwrap().contains("code="));
}

/// With an https issuer the CSRF cookie is `__Host-` prefixed (Secure, Path=/, no
/// Domain), and only that cookie is read: one without the prefix, which a sibling
/// subdomain could have planted, does not pass the check.
#[tokio::test]
async fn the_csrf_cookie_has_the_host_prefix_under_an_https_issuer() {
    let s = TestServer::start_with_env("", &[("BATON_ISSUER", "https://id.example.test")]).await;
    // The browser does not send Secure cookies over plain http: the Cookie header is
    // written by hand here.
    let http = baton_testkit::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let p = AuthParams::new("web", "openid");
    let resp = http
        .get(format!("{}/authorize", s.url))
        .query(&p.query())
        .send()
        .await
        .unwrap();
    let login = location(&resp).unwrap();
    let login = login
        .trim_start_matches("https://id.example.test")
        .to_string();
    assert!(login.starts_with("/login"), "{login}");
    let page = http.get(format!("{}{login}", s.url)).send().await.unwrap();
    let cookies = baton_testkit::flow::set_cookies(&page);
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("__Host-baton_csrf="))
        .unwrap_or_else(|| panic!("a __Host- CSRF cookie: {cookies:?}"));
    assert!(
        csrf.contains("; Secure") && csrf.contains("Path=/"),
        "{csrf}"
    );
    assert!(!csrf.to_ascii_lowercase().contains("domain="), "{csrf}");
    let value = csrf
        .trim_start_matches("__Host-baton_csrf=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let fields = baton_testkit::flow::hidden_inputs(&page.text().await.unwrap());
    let creds = [("username", ALICE.0), ("password", ALICE.1)];
    let post = |cookie: String| {
        http.post(format!("{}/login", s.url))
            .header("cookie", cookie)
            .form(&form(&fields, &creds))
            .send()
    };
    let planted = post(format!("baton_csrf={value}")).await.unwrap();
    assert_eq!(planted.status(), 403);
    assert!(s.events("login.succeeded").await.is_empty());
    let ok = post(format!("__Host-baton_csrf={value}")).await.unwrap();
    assert!(ok.status().is_redirection(), "{}", ok.status());
    assert_eq!(s.events("login.succeeded").await.len(), 1);
}
