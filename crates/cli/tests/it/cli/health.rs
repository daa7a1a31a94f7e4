//! `baton health-check URL`, the container image's health check: exit 0 on a 200,
//! 1 otherwise, with the reason on standard error.

use super::baton_raw;
use baton_testkit::TestServer;

#[tokio::test]
async fn health_check_passes_on_200_and_fails_otherwise() {
    let s = TestServer::start("").await;
    let ready = baton_raw(&["health-check", &format!("{}/readyz", s.url)]).await;
    assert_eq!(ready.code, 0, "{}", ready.stderr);
    baton_raw(&["health-check", &format!("{}/healthz", s.url)])
        .await
        .ok();

    baton_raw(&["health-check", &format!("{}/no-such-page", s.url)])
        .await
        .fails(1, "answered HTTP/1.1 404");
    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    baton_raw(&["health-check", &format!("http://127.0.0.1:{port}/readyz")])
        .await
        .fails(1, "cannot connect");
    baton_raw(&["health-check", "https://127.0.0.1:1/readyz"])
        .await
        .fails(1, "only http://");
    s.stop().await;
}
