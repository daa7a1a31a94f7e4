//! The crash test's child process: the test binary runs itself with
//! `--exact child_refreshes_then_dies` and these variables set; the child refreshes from
//! a `FileStore`, says so, and waits; the parent kills it with SIGKILL the moment it reads
//! that line (no destructors, no flush, nothing more from the child).

use baton_client::{
    ClientAuth, Endpoints, FileStore, ManagerOptions, OAuthClient, UserTokenManager,
};
use std::path::Path;

const TOKEN_ENDPOINT: &str = "BATON_CLIENT_CHILD_TOKEN_ENDPOINT";
const CLIENT_ID: &str = "BATON_CLIENT_CHILD_CLIENT_ID";
const DIR: &str = "BATON_CLIENT_CHILD_DIR";

/// The key the child refreshes.
pub const KEY: &str = "alice";

/// In the child: refresh `KEY`, say so and wait to be killed. Elsewhere: nothing.
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
    // Waits for the parent's SIGKILL; if it never comes, dies anyway.
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    std::process::abort();
}

/// Runs the child against `token_endpoint` as public client `client_id` on `dir`, and
/// kills it (SIGKILL) as soon as it reports its refresh.
pub async fn run(token_endpoint: &str, client_id: &str, dir: &Path) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_refreshes_then_dies",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TOKEN_ENDPOINT, token_endpoint)
        .env(CLIENT_ID, client_id)
        .env(DIR, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let refreshed = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("child refreshed") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(refreshed, "the child did not report a refresh");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the child was killed: {status:?}");
}
