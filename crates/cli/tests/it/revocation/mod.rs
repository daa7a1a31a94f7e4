//! RFC 7009 revocation and RFC 7662 introspection over real HTTP.

mod introspect;
mod owner;
mod reference;
mod revoke;

use baton_testkit::{TestServer, WEB};
use serde_json::Value;

/// Another confidential client, a resource server allowed to introspect anything, and
/// a client issuing reference (opaque) access tokens.
pub const EXTRA: &str = r#"
[[clients]]
client_id = "other"
client_secret = "other-secret-0123456789abcdef0123456789"
grant_types = ["password", "refresh_token"]
scopes = ["openid", "offline_access"]

[[clients]]
client_id = "rs"
client_secret = "rs-secret-0123456789abcdef0123456789abc"
grant_types = ["client_credentials"]
scopes = ["api"]
introspect_any = true

[[clients]]
client_id = "opaque"
client_secret = "opaque-secret-0123456789abcdef01234567"
grant_types = ["password", "refresh_token"]
scopes = ["openid", "email", "offline_access"]
access_token_format = "reference"
"#;

pub const OTHER: (&str, &str) = ("other", "other-secret-0123456789abcdef0123456789");
pub const RS: (&str, &str) = ("rs", "rs-secret-0123456789abcdef0123456789abc");
pub const OPAQUE: (&str, &str) = ("opaque", "opaque-secret-0123456789abcdef01234567");

pub async fn introspect(s: &TestServer, who: (&str, &str), token: &str) -> Value {
    let (st, v) = s
        .post_form("/introspect", Some(who), &[("token", token)])
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

pub async fn revoke(s: &TestServer, who: (&str, &str), token: &str) -> (u16, Value) {
    let (st, v) = s.post_form("/revoke", Some(who), &[("token", token)]).await;
    (st.as_u16(), v)
}

pub async fn grant_for(s: &TestServer, who: (&str, &str), scope: &str) -> Value {
    let (st, v) = s
        .post_form(
            "/token",
            Some(who),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password"),
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

pub fn web() -> (&'static str, &'static str) {
    WEB
}
