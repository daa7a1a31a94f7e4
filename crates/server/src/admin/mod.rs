//! The admin API (SPEC §4): JSON over HTTP behind the admin bearer token. The
//! operations live in [`ops`] (the CLI calls them too); the files by resource hold the
//! HTTP handlers, each annotated for OpenAPI. The router is built from those
//! annotations (`utoipa-axum`), so `/admin/openapi.json` lists exactly the routes
//! served.

pub mod clients;
pub mod events;
pub mod grants;
pub mod keys;
pub mod ops;
pub mod resources;
pub mod settings;
pub mod users;
pub mod views;

pub use ops::{AdminError, AdminResult};

use crate::http::error::ApiError;
use crate::state::Shared;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use baton_core::error::{ErrorCode, OAuthError};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baton admin API",
        description = "Manage clients, users, resources (APIs), grants, events, server-wide settings and signing keys. Every call needs `Authorization: Bearer <admin_token>`."
    ),
    modifiers(&AdminToken),
    security(("admin_token" = [])),
    tags(
        (name = "clients"), (name = "users"), (name = "resources"), (name = "grants"),
        (name = "events"), (name = "settings"), (name = "keys"), (name = "openapi")
    )
)]
struct AdminDoc;

struct AdminToken;

impl utoipa::Modify for AdminToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The admin routes and their OpenAPI document, both from the handlers' annotations.
fn parts() -> (Router<Shared>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(AdminDoc::openapi())
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::patch, clients::delete))
        .routes(routes!(clients::reset_secret))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::patch, users::delete))
        .routes(routes!(resources::list, resources::create))
        .routes(routes!(resources::get, resources::patch, resources::delete))
        .routes(routes!(grants::list))
        .routes(routes!(grants::revoke))
        .routes(routes!(events::list))
        .routes(routes!(settings_get, settings_patch))
        .routes(routes!(keys::rotate))
        .routes(routes!(openapi_json))
        .split_for_parts()
}

/// The OpenAPI document of the admin API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// The `/admin` routes, each behind the admin token. Mounted only when `admin_token`
/// is configured (otherwise `/admin/...` answers 404 like any unknown path).
pub fn router(st: Shared) -> Router<Shared> {
    let (r, doc) = parts();
    let json = Arc::new(doc.to_json().unwrap_or_default());
    r.layer(Extension(OpenApiJson(json)))
        .route_layer(axum::middleware::from_fn_with_state(st, require_token))
}

#[derive(Clone)]
struct OpenApiJson(Arc<String>);

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/admin/openapi.json", tag = "openapi",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json"),
              (status = 401, body = baton_proto::oauth::ErrorResponse)))]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> Response {
    let mut r = doc.0.as_str().to_string().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[utoipa::path(get, path = "/admin/settings", tag = "settings",
    responses((status = 200, body = baton_proto::settings::Settings),
              (status = 401, body = baton_proto::oauth::ErrorResponse)))]
/// The effective server-wide `refresh_tokens` and `access_tokens` settings.
async fn settings_get(State(st): State<Shared>) -> axum::Json<baton_proto::settings::Settings> {
    axum::Json(ops::get_settings(&st))
}

#[utoipa::path(patch, path = "/admin/settings", tag = "settings",
    request_body = baton_proto::settings::Settings,
    responses((status = 200, body = baton_proto::settings::Settings),
              (status = 400, description = "invalid (names the key); `access_tokens` cannot be changed here", body = baton_proto::oauth::ErrorResponse),
              (status = 401, body = baton_proto::oauth::ErrorResponse)))]
/// Stores server-wide `refresh_tokens` changes (validated like the configuration file);
/// every node applies them within 5 s, this one at once. New grants follow them;
/// existing grants keep the values they were created with.
async fn settings_patch(
    State(st): State<Shared>,
    caller: crate::caller::Caller,
    crate::http::Body(body): crate::http::Body,
) -> Result<axum::Json<baton_proto::settings::Settings>, ApiError> {
    let p = parse(&body)?;
    Ok(axum::Json(ops::patch_settings(&st, p, &caller).await?))
}

/// Every admin call needs `Authorization: Bearer <admin_token>` (compared in constant
/// time); anything else is 401.
async fn require_token(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let Some(expected) = &st.cfg.admin_token else {
        return ApiError::refused(
            OAuthError::invalid_request("no such endpoint"),
            crate::http::error::Refusal::NotFound,
        )
        .into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // RFC 7235 §2.1: the scheme is case-insensitive.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    // Compare digests: equal lengths, so the comparison says nothing about the length.
    let ok = given.is_some_and(|g| {
        baton_core::secret::ct_eq(
            &baton_core::secret::sha256(g.as_bytes()),
            &baton_core::secret::sha256(expected.expose().as_bytes()),
        )
    });
    if !ok {
        return ApiError::from(OAuthError::new(
            ErrorCode::InvalidToken,
            "the admin API needs Authorization: Bearer <admin_token>",
        ))
        .into_response();
    }
    next.run(req).await
}

/// Parses a JSON body into `T`; errors name the key at fault (`redirect_uris[0]`,
/// `refresh_tokens.grace_period`, an unknown field …), or `body` for JSON that does
/// not parse.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AdminError::invalid("body", format!("is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(AdminError::invalid("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let field = if path == "." {
            msg.split('`').nth(1).unwrap_or("body").to_string()
        } else {
            path
        };
        AdminError::invalid(&field, msg)
    })
}

/// A query string that does not parse (unknown parameter, bad number) is 400.
pub fn bad_query(rej: axum::extract::rejection::QueryRejection) -> ApiError {
    AdminError::invalid("query", rej.body_text()).into()
}
