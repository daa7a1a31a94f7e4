//! Dynamically registered clients are not trusted to receive automatic redirects
//! (RFC 9700 §4.11): `/authorize` shows its errors instead of bouncing the browser to
//! them, RP-initiated logout offers a link instead of redirecting, and the consent page
//! says the client registered itself and where it sends the user.

use crate::support::html_page;
use baton_testkit::flow::{
    code_flow_full, hidden_inputs, location, AuthParams, Browser, REDIRECT_URI,
};
use baton_testkit::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ON: &str = "[registration]\nenabled = true\n";
const BYE: &str = "https://evil.example/bye";

/// Registers a confidential client named like the trusted base client; answers
/// `(client_id, client_secret)`.
async fn register(s: &TestServer, redirect_uri: &str) -> (String, String) {
    let body = json!({
        "client_name": "Web App",
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [BYE],
    });
    let r = s
        .http
        .post(format!("{}/register", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn authorize_errors_of_a_dynamically_registered_client_are_shown_not_redirected() {
    let s = TestServer::start(ON).await;
    let (id, _) = register(&s, REDIRECT_URI).await;
    let b = Browser::fresh(&s);
    let mut bad_scope = AuthParams::new(&id, "openid admin");
    bad_scope.state = Some("st".into());
    let mut bad_type = AuthParams::new(&id, "openid");
    bad_type.response_type = "token".into();
    let mut silent = AuthParams::new(&id, "openid");
    silent.prompt = Some("none".into());
    for (p, code) in [
        (&bad_scope, "invalid_scope"),
        (&bad_type, "unsupported_response_type"),
        (&silent, "login_required"),
    ] {
        let page = html_page(b.authorize(p).await, 400).await;
        assert!(page.contains(code), "{code}: {page}");
        assert!(page.contains("registered dynamically"), "{code}: {page}");
    }
    // A configured client is trusted: its errors still go back to it.
    let mut p = AuthParams::new("web", "openid admin");
    p.state = Some("st".into());
    let r = b.authorize(&p).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = location(&r).unwrap();
    assert!(
        loc.starts_with(REDIRECT_URI) && loc.contains("error=invalid_scope"),
        "{loc}"
    );
}

#[tokio::test]
async fn login_and_consent_pages_mark_a_dynamically_registered_client_with_its_redirect_host() {
    let s = TestServer::start(ON).await;
    let (id, _) = register(&s, "https://evil.example/cb").await;
    let b = Browser::fresh(&s);
    let mut p = AuthParams::new(&id, "openid");
    p.redirect_uri = Some("https://evil.example/cb".into());
    let r = b.authorize(&p).await;
    // The login page already says so.
    let login = location(&r).unwrap();
    let page = b.get(&login).await.text().await.unwrap();
    assert!(
        page.contains("registered dynamically, unverified"),
        "{page}"
    );
    let r = b
        .login(&login, baton_testkit::ALICE.0, baton_testkit::ALICE.1)
        .await;
    let consent = location(&r).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let page = b.get(&consent).await.text().await.unwrap();
    assert!(page.contains("Web App"), "{page}");
    assert!(
        page.contains("registered dynamically (unverified)"),
        "{page}"
    );
    assert!(page.contains("evil.example"), "{page}");

    // The configured client of the same name carries no such label.
    let r = b.authorize(&AuthParams::new("web", "openid")).await;
    let consent = location(&r).unwrap();
    assert!(consent.starts_with("/consent"), "{consent}");
    let page = b.get(&consent).await.text().await.unwrap();
    assert!(page.contains("Web App"), "{page}");
    assert!(!page.contains("registered dynamically"), "{page}");
}

#[tokio::test]
async fn logout_links_to_a_dynamically_registered_clients_address_instead_of_redirecting() {
    let s = TestServer::start(ON).await;
    let (id, secret) = register(&s, REDIRECT_URI).await;
    // With a verified hint: the session ends, and the page links back.
    let f = code_flow_full(&s, (id.as_str(), secret.as_str()), "openid").await;
    let hint = f.tokens["id_token"].as_str().unwrap();
    let r = s
        .http
        .get(format!("{}/logout", s.url))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    let cleared = baton_testkit::flow::set_cookies(&r)
        .iter()
        .any(|c| c.starts_with("baton_session=;"));
    let page = html_page(r, 200).await;
    assert!(cleared, "the session cookie is cleared");
    assert!(
        page.contains("href=\"https://evil.example/bye?state=s1\""),
        "{page}"
    );
    assert!(page.contains("evil.example"), "{page}");
    assert!(
        s.events("session.ended").await.len() == 1,
        "the session ended"
    );

    // Without a hint: confirmation first, then the same page with a link.
    code_flow_full(&s, (id.as_str(), secret.as_str()), "openid").await;
    let r = s
        .http
        .get(format!("{}/logout", s.url))
        .query(&[
            ("client_id", id.as_str()),
            ("post_logout_redirect_uri", BYE),
        ])
        .send()
        .await
        .unwrap();
    let page = html_page(r, 200).await;
    let mut form: Vec<(String, String)> = hidden_inputs(&page).into_iter().collect();
    form.push(("confirm".into(), "yes".into()));
    let r = Browser::shared(&s).post("/logout", &form).await;
    let page = html_page(r, 200).await;
    assert!(page.contains("href=\"https://evil.example/bye\""), "{page}");
    assert_eq!(s.events("session.ended").await.len(), 2);
}

#[tokio::test]
async fn the_admin_api_shows_which_clients_registered_dynamically() {
    let s = TestServer::start_admin(ON).await;
    let (id, _) = register(&s, REDIRECT_URI).await;
    let admin = |m: reqwest::Method, path: String| {
        s.http
            .request(m, format!("{}{path}", s.url))
            .bearer_auth(baton_testkit::ADMIN_TOKEN)
    };
    let get = |path: String| async {
        let r = admin(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()
    };
    assert_eq!(
        get(format!("/admin/clients/{id}")).await["dynamically_registered"],
        true
    );
    assert_eq!(
        get("/admin/clients/web".into()).await["dynamically_registered"],
        false
    );
    // A change by an operator keeps where the client came from.
    let r = admin(reqwest::Method::PATCH, format!("/admin/clients/{id}"))
        .json(&json!({"client_name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = get(format!("/admin/clients/{id}")).await;
    assert_eq!(v["client_name"], "Renamed");
    assert_eq!(v["dynamically_registered"], true);
}
