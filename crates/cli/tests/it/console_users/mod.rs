//! The operator console's users, grant timeline and events pages, over real HTTP
//! against a real server: an administrator signs in through `/login`, reads the
//! pages and posts their forms (with and without the CSRF token); a user without
//! `admin` is refused.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod events;
mod timeline;
mod users;

pub use crate::support::grant_of;
use baton_testkit::flow::{hidden_inputs, location, Browser};
use baton_testkit::TestServer;
use reqwest::{Response, StatusCode};

pub const ROOT: (&str, &str) = ("root", "root-password-0123");

/// The base clients and alice, plus `root` (an administrator) and `extra` TOML.
pub async fn start(extra: &str) -> TestServer {
    TestServer::start(&format!(
        "[[users]]\nusername = \"{}\"\npassword = \"{}\"\nadmin = true\n\n{extra}",
        ROOT.0, ROOT.1
    ))
    .await
}

/// A fresh browser signed in as `who` through the console's sign-in redirect.
pub async fn signed_in<'a>(s: &'a TestServer, who: (&str, &str)) -> Browser<'a> {
    let b = Browser::fresh(s);
    let r = b.get("/console/users").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login = location(&r).unwrap();
    assert!(login.starts_with("/login?req="), "{login}");
    let r = b.login(&login, who.0, who.1).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in");
    b
}

/// `GET path`: 200, the HTML.
pub async fn page(b: &Browser<'_>, path: &str) -> String {
    let r = b.get(path).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The CSRF token of the page's forms.
pub fn csrf(html: &str) -> String {
    hidden_inputs(html)
        .get("csrf")
        .cloned()
        .expect("a form with a csrf token")
}

/// POSTs a console form.
pub async fn post(b: &Browser<'_>, path: &str, fields: &[(&str, &str)]) -> Response {
    let form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    b.post(path, &form).await
}

/// The status and body of a response.
pub async fn answer(r: Response) -> (StatusCode, String) {
    let st = r.status();
    (st, r.text().await.unwrap())
}
