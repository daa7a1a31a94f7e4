//! Request threads (`http.threads`) in the `baton` binary: connections spread over the
//! threads and each thread serves its own, and SIGTERM stops them all cleanly.

// Reads the threads' context switches from /proc.
#![cfg(target_os = "linux")]
// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{login_at, refresh_at, rt};
use baton_testkit::ChildServer;
use reqwest::StatusCode;
use std::collections::BTreeMap;

/// The voluntary context switches so far of the process's threads named `baton-http-N`
/// and of its main thread (`main`), by name.
fn switches(pid: u32) -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path();
        let tid: u32 = path.file_name().unwrap().to_str().unwrap().parse().unwrap();
        let Ok(status) = std::fs::read_to_string(path.join("status")) else {
            continue; // the thread has just ended
        };
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap()
        };
        let name = if tid == pid {
            "main".to_string()
        } else {
            field("Name:")
        };
        if name == "main" || name.starts_with("baton-http-") {
            by_name.insert(name, field("voluntary_ctxt_switches:").parse().unwrap());
        }
    }
    by_name
}

/// Signs in as alice on `http`'s own connection and rotates `n` times.
async fn rotate(http: reqwest::Client, url: String, n: usize) {
    let mut token = login_at(&http, &url, "spa").await;
    for _ in 0..n {
        let (st, v) = refresh_at(&http, &url, "spa", &token).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        token = rt(&v);
    }
}

#[tokio::test]
async fn each_connection_is_served_by_a_request_thread_of_its_own_and_sigterm_stops_all() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"));
    let dir = std::env::temp_dir().join(baton_core::random_id("baton-threads-"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = ChildServer::spawn(bin, &dir, "[http]\nthreads = 3").await;
    let pid = c.child.id().unwrap();
    let before = switches(pid);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["baton-http-1", "baton-http-2", "main"],
        "the first request thread is the main one; two more were started"
    );
    // Three clients, each on a connection of its own, rotating at once: each connection
    // goes to the thread with the fewest open ones, so each thread gets one. A thread
    // that serves a connection alone waits for its next request between requests: at
    // least one context switch per request.
    const N: usize = 40;
    let rotations: Vec<_> = (0..3)
        .map(|_| tokio::spawn(rotate(baton_testkit::client(), c.url.clone(), N)))
        .collect();
    for r in rotations {
        r.await.unwrap();
    }
    let after = switches(pid);
    for (name, n) in &after {
        let served = n - before[name];
        assert!(
            served >= N as u64,
            "{name} served too little: {served} switches"
        );
    }
    // SIGTERM: every thread stops serving and the process exits cleanly.
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), c.child.wait())
        .await
        .expect("baton exits within 10 s of SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit}");
    let _ = std::fs::remove_dir_all(&dir);
}
