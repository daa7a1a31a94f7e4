//! Client authentication at the token, revocation and introspection endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523) and
//! `none`. Exactly one method per request (SPEC §3).

use super::error::{ApiError, ApiResult};
use super::form::Form;
use crate::state::AppState;
use axum::http::{header, HeaderMap};
use base64::Engine;
use baton_core::error::OAuthError;
use baton_core::model::{AuthMethod, Client, SigAlg};
use baton_core::secret::{ct_eq, sha256};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Seconds a client's clock may run ahead of ours for `nbf` and `iat` of an assertion.
const CLOCK_LEEWAY: i64 = 60;

fn failed() -> ApiError {
    OAuthError::invalid_client("client authentication failed").into()
}

/// Credentials as presented, before any lookup.
enum Presented<'a> {
    Basic { id: String, secret: String },
    Post { id: &'a str, secret: &'a str },
    Assertion { id: Option<&'a str>, jwt: &'a str },
    None { id: &'a str },
}

fn basic(headers: &HeaderMap) -> ApiResult<Option<(String, String)>> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| failed())?;
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return Err(OAuthError::invalid_request(
            "the Authorization header must use the Basic scheme here",
        )
        .into());
    };
    // Into a plain allocation: `decode` asks for a zeroed one (calloc), which costs
    // mimalloc far more than the few bytes it zeroes.
    let mut raw = Vec::new();
    base64::engine::general_purpose::STANDARD
        .decode_vec(b64.trim(), &mut raw)
        .map_err(|_| failed())?;
    let (id, secret) = raw
        .iter()
        .position(|b| *b == b':')
        .map(|i| (&raw[..i], &raw[i + 1..]))
        .ok_or_else(failed)?;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding. Each is
    // decoded as a form value is (UTF-8, no control characters); an empty id fails.
    let id = super::form::decode(id)
        .ok()
        .filter(|id| !id.is_empty())
        .ok_or_else(failed)?;
    let secret = super::form::decode(secret).unwrap_or_default();
    Ok(Some((id, secret)))
}

fn presented<'a>(headers: &HeaderMap, form: &'a Form) -> ApiResult<Presented<'a>> {
    let b = basic(headers)?;
    let post = form.get("client_secret");
    let assertion = form.get("client_assertion");
    let count = b.is_some() as u8 + post.is_some() as u8 + assertion.is_some() as u8;
    if count > 1 {
        return Err(OAuthError::invalid_request(
            "the request uses more than one client authentication method",
        )
        .into());
    }
    let form_id = form.get("client_id");
    if let Some((id, secret)) = b {
        if form_id.is_some_and(|f| f != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the authenticated client",
            )
            .into());
        }
        return Ok(Presented::Basic { id, secret });
    }
    if let Some(secret) = post {
        let id = form_id.ok_or_else(|| {
            ApiError::from(OAuthError::invalid_request("client_secret needs client_id"))
        })?;
        return Ok(Presented::Post { id, secret });
    }
    if let Some(jwt) = assertion {
        if form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            ))
            .into());
        }
        return Ok(Presented::Assertion { id: form_id, jwt });
    }
    match form_id {
        Some(id) => Ok(Presented::None { id }),
        None => Err(OAuthError::invalid_client("client authentication is required").into()),
    }
}

/// Authenticates the calling client, answering it if its credentials hold.
pub async fn authenticate(
    st: &AppState,
    headers: &HeaderMap,
    form: &Form,
    endpoint: &str,
) -> ApiResult<Client> {
    authenticate_with(st, credentials(headers, form), endpoint, None).await
}

/// The client credentials a request presents, read once (before any lookup) for
/// everything that needs them: the client id to read the client with the request's
/// other records, then [`authenticate_with`].
pub struct Credentials<'a>(Presented<'a>);

/// Reads the credentials `headers` and `form` present; a malformed or ambiguous
/// presentation is the error [`authenticate`] answers.
pub fn credentials<'a>(headers: &HeaderMap, form: &'a Form) -> ApiResult<Credentials<'a>> {
    presented(headers, form).map(Credentials)
}

impl Credentials<'_> {
    /// The client id presented (Basic, `client_id` in the form, or a client
    /// assertion's form `client_id`), if one is.
    pub fn client_id(&self) -> Option<&str> {
        match &self.0 {
            Presented::Basic { id, .. } => Some(id),
            Presented::Post { id, .. } | Presented::None { id } => Some(id),
            Presented::Assertion { id, .. } => *id,
        }
    }
}

/// A client already read (`Some(client)` or `None`: no such client) for the id in
/// `client_id`, with the request's other records.
pub struct KnownClient {
    pub client_id: String,
    pub client: Option<Client>,
}

/// [`authenticate`] with the request's [`credentials`], and the client as already read
/// when `known` is for the id they present (else it is read here).
pub async fn authenticate_with(
    st: &AppState,
    credentials: ApiResult<Credentials<'_>>,
    endpoint: &str,
    known: Option<KnownClient>,
) -> ApiResult<Client> {
    let credentials = credentials?;
    let Some(id) = credentials.client_id() else {
        // Only an assertion presents no id: its issuer names the client.
        return match &credentials.0 {
            Presented::Assertion { jwt, .. } => {
                authenticate_assertion(st, None, jwt, endpoint).await
            }
            _ => Err(failed()),
        };
    };
    let p = &credentials.0;
    if id.len() > 256 {
        return Err(failed());
    }
    let client = match known {
        Some(k) if k.client_id == id => k.client,
        _ => st.store.get_client(id).await?,
    };
    let client = client.filter(|c| c.active).ok_or_else(failed)?;
    match (p, client.auth_method) {
        (Presented::Basic { secret, .. }, AuthMethod::ClientSecretBasic) => {
            check_secret(&client, secret).map(|_| client)
        }
        (Presented::Post { secret, .. }, AuthMethod::ClientSecretPost) => {
            check_secret(&client, secret).map(|_| client)
        }
        (Presented::None { .. }, AuthMethod::None) => Ok(client),
        (Presented::Assertion { jwt, .. }, AuthMethod::PrivateKeyJwt) => {
            authenticate_assertion(st, Some(client), jwt, endpoint).await
        }
        _ => Err(failed()),
    }
}

fn check_secret(client: &Client, secret: &str) -> ApiResult<()> {
    let stored = client.secret_sha256.ok_or_else(failed)?;
    // SHA-256 is the right hash for server-generated high-entropy secrets; the
    // comparison is constant-time.
    if ct_eq(&sha256(secret.as_bytes()), &stored) {
        Ok(())
    } else {
        Err(failed())
    }
}

/// RFC 7523 §3: iss and sub are the client_id, aud names this server, exp is in the
/// future, nbf and iat are not (beyond a small leeway), and the jti has not been seen
/// before.
async fn authenticate_assertion(
    st: &AppState,
    client: Option<Client>,
    jwt: &str,
    endpoint: &str,
) -> ApiResult<Client> {
    let (_, claims, _, _) = crate::jwt::decode_unverified(jwt).map_err(|_| failed())?;
    let iss = claims["iss"].as_str().ok_or_else(failed)?;
    let client = match client {
        Some(c) => c,
        None => st
            .store
            .get_client(iss)
            .await?
            .filter(|c| c.active)
            .ok_or_else(failed)?,
    };
    if client.auth_method != AuthMethod::PrivateKeyJwt
        || iss != client.client_id
        || claims["sub"].as_str() != Some(iss)
    {
        return Err(failed());
    }
    let jwks = client.jwks.as_ref().ok_or_else(failed)?;
    let v = crate::jwt::verify(jwt, jwks, &SigAlg::ALL).map_err(|_| failed())?;
    let endpoint_url = format!("{}{}", st.cfg.issuer, endpoint);
    let aud_ok = |a: &str| {
        a == st.cfg.issuer || a == endpoint_url || a == format!("{}/token", st.cfg.issuer)
    };
    let aud_matches = match &v.claims["aud"] {
        serde_json::Value::String(a) => aud_ok(a),
        serde_json::Value::Array(a) => a.iter().any(|x| x.as_str().is_some_and(aud_ok)),
        _ => false,
    };
    let now = st.clock.now().unix_secs() as f64;
    let exp = numeric_date(&v.claims["exp"]).ok_or_else(failed)?;
    if !aud_matches || exp <= now || exp > now + 600.0 {
        return Err(failed());
    }
    // RFC 7523 §3 / RFC 7519 §4.1.5: not usable before `nbf`, and an assertion issued
    // in the future is not yet valid either; `CLOCK_LEEWAY` absorbs clock skew. A
    // present but non-numeric `nbf` or `iat` is refused.
    for claim in ["nbf", "iat"] {
        match &v.claims[claim] {
            serde_json::Value::Null => {}
            t => {
                let t = numeric_date(t).ok_or_else(failed)?;
                if t > now + CLOCK_LEEWAY as f64 {
                    return Err(failed());
                }
            }
        }
    }
    let jti = v.claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(failed)?;
    let key = format!("assertion:{}:{}", client.client_id, jti);
    // Recording the jti is the check: of two concurrent uses, exactly one records it.
    if !st
        .store
        // Kept until the assertion has expired: its `exp` rounded up (at most 600 s
        // ahead, checked above).
        .revoke_jti(
            &key,
            baton_core::time::Timestamp::from_secs(exp.ceil() as i64),
        )
        .await?
    {
        return Err(failed());
    }
    Ok(client)
}

/// A NumericDate claim (RFC 7519 §2): any finite JSON number, non-integer ones
/// (`1700000000.5`, `1.7e9`) included; anything else is malformed.
fn numeric_date(v: &serde_json::Value) -> Option<f64> {
    v.as_f64().filter(|t| t.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use baton_core::error::ErrorCode;

    fn with_basic(raw: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        h
    }

    /// RFC 6749 §2.3.1: the id and secret are form-urlencoded inside the Basic pair.
    #[test]
    fn basic_credentials_are_form_decoded() {
        let got = basic(&with_basic(b"my%3Aapp:s%2Bcret+x%25")).unwrap();
        assert_eq!(got, Some(("my:app".into(), "s+cret x%".into())));
        // Only the first colon separates; the secret may hold more, and be empty.
        let got = basic(&with_basic(b"app:a:b")).unwrap();
        assert_eq!(got, Some(("app".into(), "a:b".into())));
        let got = basic(&with_basic(b"app:")).unwrap();
        assert_eq!(got, Some(("app".into(), String::new())));
        // A literal `&` or `=` is part of the id, never a separator.
        let got = basic(&with_basic(b"a&b=c:s")).unwrap();
        assert_eq!(got, Some(("a&b=c".into(), "s".into())));
        assert_eq!(basic(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn malformed_basic_credentials_fail() {
        for raw in [
            &b"no-colon"[..],
            b":secret",
            b"a%zz:s",
            b"a%00:s",
            b"\xff:s",
            b"a\x01b:s",
        ] {
            let e = basic(&with_basic(raw)).unwrap_err();
            assert_eq!(e.err.code, ErrorCode::InvalidClient, "{raw:?}");
        }
    }
}
