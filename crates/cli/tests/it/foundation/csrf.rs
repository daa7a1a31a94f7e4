//! CSRF protection on the login and consent forms: a post without the token, or from a
//! browser without the matching cookie, is refused with a 403 page and changes nothing.

use super::{html_page, snapshot};
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
    assert!(consented.is_empty(), "{consented:?}");
    // The genuine form still works afterwards.
    let ok = b
        .post("/consent", &form(&fields, &[("decision", "allow")]))
        .await;
    assert_eq!(ok.status(), 303);
    assert!(location(&ok).unwrap().contains("code="));
}
