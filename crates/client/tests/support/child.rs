//! The crash test's child process: the test binary runs itself with
//! `--exact child_refreshes_then_dies` and these variables set; the child refreshes from
//! a `FileStore` and aborts right after (no destructors, no flush).

use baton_client::{
    ClientAuth, Endpoints, FileStore, ManagerOptions, OAuthClient, UserTokenManager,
};
use std::path::Path;

const TOKEN_ENDPOINT: &str = "BATON_CLIENT_CHILD_TOKEN_ENDPOINT";
const CLIENT_ID: &str = "BATON_CLIENT_CHILD_CLIENT_ID";
const DIR: &str = "BATON_CLIENT_CHILD_DIR";

/// The key the child refreshes.
pub const KEY: &str = "alice";

/// In the child: refresh `KEY` and abort. Elsewhere: nothing.
pub async fn run_if_child() {
    let (Ok(ep), Ok(id), Ok(dir)) = (
        std::env::var(TOKEN_ENDPOINT),
        std::env::var(CLIENT_ID),
        std::env::var(DIR),
    ) else {
        return;
    };
    let c = OAuthClient::new(Endpoints::token_only(&ep), &id, ClientAuth::None).unwrap();
    let m = UserTokenManager::new(c, FileStore::new(&dir).unwrap(), ManagerOptions::default());
    let at = m.access_token(KEY).await.unwrap();
    println!("child refreshed: {}", at.token.len());
    std::process::abort();
}

/// Runs the child against `token_endpoint` as public client `client_id` on `dir`, and
/// checks that it refreshed and then died.
pub async fn run(token_endpoint: &str, client_id: &str, dir: &Path) {
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_refreshes_then_dies",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TOKEN_ENDPOINT, token_endpoint)
        .env(CLIENT_ID, client_id)
        .env(DIR, dir)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "the child was meant to die");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("child refreshed"),
        "child: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
