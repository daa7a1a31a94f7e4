//! Wire types only: what crosses HTTP as JSON. No behaviour lives here.

pub mod admin;
pub mod health;
pub mod oauth;
pub mod registration;
pub mod settings;
pub mod webhook;
