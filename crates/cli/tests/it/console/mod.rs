//! The operator console (`/console`) over real HTTP: who may see it (sign-in,
//! `admin`, no admin yet), CSRF on every form, and each action's effect as the admin
//! API reads it back, with the administrator recorded as the events' actor.

mod access;
mod clients;
mod events;
mod keys;
mod timeline;
mod users;

use crate::admin::call;
use baton_testkit::flow::{hidden_inputs, location, Browser};
use baton_testkit::TestServer;
use reqwest::{Response, StatusCode};
use serde_json::Value;

pub const ROOT: (&str, &str) = ("root", "root-password-0123");

/// A user with `admin` (the `[[users]]` entry, beside the base clients and alice).
pub const ADMIN_USER: &str = r#"
[[users]]
username = "root"
password = "root-password-0123"
admin = true
"#;

/// A server with the admin API, the base clients and users, and `root` an admin.
pub async fn server(extra: &str) -> TestServer {
    TestServer::start_admin(&format!("{ADMIN_USER}\n{extra}")).await
}

/// A browser signed in as `user` through `/login`, having asked for `path` first:
/// answers the browser and the page the sign-in returned to.
pub async fn signed_in<'a>(s: &'a TestServer, user: (&str, &str), path: &str) -> Browser<'a> {
    let b = Browser::fresh(s);
    let r = b.get(path).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "GET {path} signed out");
    let login = location(&r).unwrap();
    assert!(login.starts_with("/login?req="), "{login}");
    let r = b.login(&login, user.0, user.1).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r).as_deref(),
        Some(path),
        "back to the console page"
    );
    b
}

/// GETs a console page (200) and answers its body.
pub async fn page(b: &Browser<'_>, path: &str) -> String {
    let r = b.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.text().await.unwrap()
}

/// The CSRF token of the forms on `path`.
pub async fn csrf(b: &Browser<'_>, path: &str) -> String {
    hidden_inputs(&page(b, path).await)
        .remove("csrf")
        .expect("a csrf field")
}

/// POSTs `fields` to `path` with this browser's CSRF token (read from `from`).
pub async fn post(b: &Browser<'_>, from: &str, path: &str, fields: &[(&str, &str)]) -> Response {
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf(b, from).await)];
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    );
    b.post(path, &form).await
}

/// POSTs `fields` exactly (no CSRF token unless given).
pub async fn post_raw(b: &Browser<'_>, path: &str, fields: &[(&str, &str)]) -> Response {
    let form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    b.post(path, &form).await
}

/// A client as the admin API shows it (status and body).
pub async fn api_client(s: &TestServer, id: &str) -> (u16, Value) {
    call(s, "GET", &format!("/admin/clients/{id}"), None).await
}

/// The value of the `<input … id="secret" … value="…">` of a secret page.
pub fn shown_secret(html: &str) -> String {
    let at = html.find("id=\"secret\"").expect("a secret field");
    let rest = &html[at..];
    let v = rest.find("value=\"").expect("a value") + "value=\"".len();
    rest[v..].split('"').next().unwrap().to_string()
}

/// The status and body of a response.
pub async fn answer(r: Response) -> (StatusCode, String) {
    let st = r.status();
    (st, r.text().await.unwrap())
}
