//! Strict `application/x-www-form-urlencoded` parsing for the OAuth endpoints: a
//! parameter given twice, bad percent-encoding or bytes that are not UTF-8 are
//! `invalid_request`, never silently repaired.

use super::error::{ApiError, ApiResult, Refusal};
use axum::http::{header, HeaderMap};
use baton_core::error::OAuthError;

/// A parsed form. Its values include passwords, secrets and tokens, so `Debug` shows
/// only the parameter names.
#[derive(Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Form {
    /// RFC 6749 §3.1: parameters sent without a value are treated as omitted.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, k: &str) -> ApiResult<&str> {
        self.get(k).ok_or_else(|| {
            OAuthError::invalid_request(format!("the `{k}` parameter is required")).into()
        })
    }

    pub fn has(&self, k: &str) -> bool {
        self.get(k).is_some()
    }

    /// The name of every parameter given, empty ones included, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(n, _)| n.as_str())
    }

    /// Every non-empty value of a parameter that may repeat ([`REPEATABLE`]), in order.
    pub fn all(&self, k: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Parameters that may be given more than once: RFC 8707 §2 `resource`. Every other
/// parameter given twice is refused.
pub const REPEATABLE: &[&str] = &["resource"];

/// Checks the request's content type is a form.
pub fn require_form_content_type(headers: &HeaderMap) -> ApiResult<()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(ApiError::refused(
            OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ),
            Refusal::UnsupportedMediaType,
        ))
    }
}

/// Parses a form body or query string strictly.
pub fn parse(input: &[u8]) -> Result<Form, OAuthError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if input.is_empty() {
        return Ok(Form { pairs });
    }
    for part in input.split(|b| *b == b'&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        let k = decode(k)?;
        let v = decode(v)?;
        if k.is_empty() {
            return Err(OAuthError::invalid_request("a parameter has an empty name"));
        }
        if !REPEATABLE.contains(&k.as_str()) && pairs.iter().any(|(n, _)| *n == k) {
            return Err(OAuthError::invalid_request(format!(
                "the `{}` parameter is given more than once",
                printable(&k)
            )));
        }
        if pairs.len() >= 64 {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        pairs.push((k, v));
    }
    Ok(Form { pairs })
}

/// Decodes one form-urlencoded name or value: UTF-8 without control characters (tab,
/// CR and LF aside), else `invalid_request`.
pub(crate) fn decode(s: &[u8]) -> Result<String, OAuthError> {
    // Most names and values have nothing to decode: they are checked in place.
    let s = if s.iter().any(|b| matches!(b, b'%' | b'+')) {
        String::from_utf8(unescape(s)?)
    } else {
        String::from_utf8(s.to_vec())
    }
    .map_err(|_| OAuthError::invalid_request("the request is not valid UTF-8"))?;
    if has_control(&s) {
        return Err(OAuthError::invalid_request(
            "the request contains control characters",
        ));
    }
    Ok(s)
}

/// `+` as a space and `%XX` as its byte.
fn unescape(s: &[u8]) -> Result<Vec<u8>, OAuthError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = |c: u8| (c as char).to_digit(16);
                match (
                    s.get(i + 1).copied().and_then(h),
                    s.get(i + 2).copied().and_then(h),
                ) {
                    (Some(a), Some(b)) => out.push((a * 16 + b) as u8),
                    _ => {
                        return Err(OAuthError::invalid_request(
                            "the request has malformed percent-encoding",
                        ))
                    }
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// A control character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) other than
/// tab, CR and LF: read off the UTF-8 bytes (U+0080-U+009F are 0xC2 0x80-0x9F).
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'))
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// A parameter name safe to echo in an error description.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing() {
        let f = parse(b"grant_type=refresh_token&refresh_token=a%2Bb+c&scope=").unwrap();
        assert_eq!(f.get("grant_type"), Some("refresh_token"));
        assert_eq!(f.get("refresh_token"), Some("a+b c"));
        assert_eq!(f.get("scope"), None, "empty means omitted");
        assert!(parse(b"a=1&a=2").is_err());
        assert!(parse(b"a=%zz").is_err());
        assert!(parse(b"a=%2").is_err());
        assert!(parse(b"a=%ff%fe").is_err());
        assert!(parse(b"a=\xff").is_err());
        assert!(parse(b"a=%00").is_err());
        assert!(parse(b"=x").is_err());
        assert_eq!(parse(b"a=%C3%A9").unwrap().get("a"), Some("é"));
        let f = parse(b"resource=https%3A%2F%2Fa&resource=&resource=urn%3Ab").unwrap();
        assert_eq!(f.all("resource"), vec!["https://a", "urn:b"]);
        // Values with nothing to decode are checked in place like the others.
        assert!(parse(b"a=x\x01y").is_err());
        assert!(parse(b"a=x\xc2\x85y").is_err(), "a C1 control (NEL)");
        assert!(parse(b"a=x%C2%85y").is_err());
        assert!(parse(b"a=\xc3\xa9\x7f").is_err());
        assert_eq!(
            parse(b"a=x\ty\xc3\xa9").unwrap().get("a"),
            Some("x\ty\u{e9}")
        );
    }

    /// The byte-level check refuses exactly the control characters `char::is_control`
    /// names, tab, CR and LF aside, every character tried alone and between others.
    #[test]
    fn control_characters_are_those_of_unicode() {
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let refused = c.is_control() && !matches!(c, '\t' | '\n' | '\r');
            assert_eq!(has_control(&c.to_string()), refused, "{c:?}");
            assert_eq!(has_control(&format!("a{c}\u{e9}")), refused, "{c:?}");
        }
    }
}
