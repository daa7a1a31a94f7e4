//! RFC 6749 / OIDC JSON bodies.

use serde::{Deserialize, Serialize};

/// RFC 6749 §5.1 successful token response. `Debug` redacts the tokens.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// RFC 6749 §5.2 error response (the admin API answers its errors in this shape too).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .finish()
    }
}

impl TokenResponse {
    /// The response's JSON, byte for byte what `serde_json::to_vec` writes, in one
    /// allocation sized for its tokens. A string with nothing JSON escapes (tokens are
    /// base64url and dots) is copied as it is instead of scanned byte by byte: the access
    /// token alone is most of a kilobyte.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let tokens = self.access_token.len() + len(&self.refresh_token) + len(&self.id_token);
        let mut out = Vec::with_capacity(tokens + len(&self.scope) + 128);
        out.extend_from_slice(b"{\"access_token\":");
        json_string(&mut out, &self.access_token)?;
        out.extend_from_slice(b",\"token_type\":");
        json_string(&mut out, &self.token_type)?;
        out.extend_from_slice(b",\"expires_in\":");
        out.extend_from_slice(self.expires_in.to_string().as_bytes());
        for (name, value) in [
            ("refresh_token", &self.refresh_token),
            ("id_token", &self.id_token),
            ("scope", &self.scope),
        ] {
            if let Some(v) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                json_string(&mut out, v)?;
            }
        }
        out.push(b'}');
        Ok(out)
    }
}

/// `s` as a JSON string: as it is when it holds no byte JSON escapes (a quote, a
/// backslash, a control character), else escaped by serde_json.
fn json_string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    // No early exit: a plain fold over the bytes, which the compiler vectorizes.
    let plain = s
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, s)
    }
}

#[cfg(test)]
mod tests {
    use super::TokenResponse;

    fn response(s: &str, optional: bool) -> TokenResponse {
        TokenResponse {
            access_token: format!("eyJ.{s}.sig"),
            token_type: "Bearer".into(),
            expires_in: -7,
            refresh_token: optional.then(|| format!("brt_{s}")),
            id_token: optional.then(|| s.to_string()),
            scope: optional.then(|| format!("openid {s}")),
        }
    }

    /// The hand-written JSON is serde_json's, byte for byte, for plain tokens and for
    /// strings that need escaping (quotes, backslashes, controls, non-ASCII).
    #[test]
    fn token_response_json_is_serde_json() {
        for s in [
            "abc-_0123456789",
            "",
            "a\"b",
            "back\\slash",
            "tab\tnew\nline\u{1}\u{1f}",
            "del\u{7f}",
            "caf\u{e9} \u{2028} \u{1f600}",
            "</script>",
        ] {
            for optional in [false, true] {
                let r = response(s, optional);
                assert_eq!(
                    String::from_utf8(r.to_json().unwrap()).unwrap(),
                    serde_json::to_string(&r).unwrap(),
                    "{s:?} {optional}"
                );
            }
        }
    }
}
