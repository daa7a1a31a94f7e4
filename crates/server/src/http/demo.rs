//! `GET /demo/callback` (`baton serve --demo` only): shows the code and the curl
//! command to exchange it.

use crate::demo::WEB_CLIENT;
use crate::pages::html::{escape, page};
use crate::state::Shared;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

pub async fn callback(State(st): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let f = super::form::parse(q.unwrap_or_default().as_bytes()).unwrap_or_default();
    let issuer = &st.cfg.issuer;
    let body = match (f.get("code"), f.get("error")) {
        (Some(code), _) => format!(
            "<h1>Demo callback</h1><p>Authorization code (valid for 60 seconds):</p><pre>{}</pre>\
             <p>Exchange it:</p><pre>curl -s -u {WEB_CLIENT}:YOUR_SECRET -d grant_type=authorization_code -d code={} -d redirect_uri={}/demo/callback {}/token</pre>",
            escape(code),
            escape(code),
            escape(issuer),
            escape(issuer)
        ),
        (None, Some(e)) => format!("<h1>Demo callback</h1><p class=\"error\">The authorization failed: {}</p>", escape(e)),
        _ => "<h1>Demo callback</h1><p>No code was given.</p>".to_string(),
    };
    page(StatusCode::OK, "Demo callback", &body)
}
