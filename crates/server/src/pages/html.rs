//! Minimal HTML rendering: one layout, escaping, and the error page.

use crate::http::error::PageError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem}.error{color:#a00}ul{padding-left:1.2rem}li{margin:.3rem 0}";

/// A complete page. Pages are never cached and never framed.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    styled_page(status, title, STYLE, body)
}

/// A complete page with a style sheet of its own (the operator console's wider
/// layout), with the same headers as [`page`]: never cached, never framed, no script.
pub fn styled_page(status: StatusCode, title: &str, style: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{style}</style></head><body>{body}</body></html>",
        escape(title)
    );
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

/// The error page (never redirected: used when the client or redirect URI cannot be
/// trusted). Rendered by `PageError`'s `IntoResponse` (`http/error.rs`), which picks
/// the status.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Sign-in error",
        &format!(
            "<h1>Something went wrong</h1><p class=\"error\">{}</p>",
            escape(message)
        ),
    )
}

/// A posted page form: the content type and the body checked as strictly as the OAuth
/// endpoints do.
pub fn read_form(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<crate::http::form::Form, PageError> {
    if crate::http::form::require_form_content_type(headers).is_err() {
        return Err(PageError::UnsupportedMediaType);
    }
    crate::http::form::parse(body).map_err(|e| PageError::BadRequest(e.description.into()))
}
