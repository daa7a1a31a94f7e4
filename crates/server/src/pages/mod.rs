//! The browser-facing side: `/authorize`, `/login`, `/consent`, `/logout`, `/account`. Pages are plain HTML
//! rendered here; every form carries a CSRF token bound to a cookie and to the
//! authorization request, and the request itself travels as a MAC'd handle, so no
//! state is stored until a user signs in.

pub mod account;
pub mod activity;
pub mod authorize;
pub mod consent;
pub mod handle;
pub mod html;
pub mod login;
pub mod logout;

use crate::state::Shared;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/authorize", get(authorize::get))
        .route("/login", get(login::get).post(login::post))
        .route("/consent", get(consent::get).post(consent::post))
        .route("/logout", get(logout::get).post(logout::post))
        .route("/account", get(account::get).post(account::post))
        // The operator console: pages too, with the same sessions and CSRF cookie.
        .merge(crate::console::router())
}
