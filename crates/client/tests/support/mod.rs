// Test support: a failed step fails the test where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

pub mod child;
pub mod proxy;

/// `reqwest::get` through the tests' HTTP client (see `baton_testkit::http_builder`).
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    baton_testkit::http_builder().build()?.get(url).send().await
}
