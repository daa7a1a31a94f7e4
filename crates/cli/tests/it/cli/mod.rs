//! The operator CLI (`baton client|user|resource|grants|revoke|events|keys`): the real
//! binary against a configuration in a temporary directory; output and exit codes.

mod args;
mod clients;
mod grants;
mod health;
mod resources;
mod users;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
    #[track_caller]
    pub fn fails(self, code: i32, says: &str) -> Run {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(self.stderr.contains(says), "stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "stderr: {}", self.stderr);
        self
    }
}

/// A directory with a configuration (no clients or users of its own) and keys.
pub async fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = baton_testkit::write_config(dir.path(), 9, "");
    baton_testkit::seed_keys(dir.path()).await;
    (dir, cfg)
}

/// Runs `baton ARGS --config CFG`, feeding `stdin`.
pub async fn baton(cfg: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(args).arg("--config").arg(cfg);
    raw(cmd, stdin).await
}

/// Runs `baton ARGS` as given.
pub async fn baton_raw(args: &[&str]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(args);
    raw(cmd, None).await
}

async fn raw(mut cmd: tokio::process::Command, stdin: Option<&str>) -> Run {
    cmd.env_remove("BATON_SECRET")
        .env_remove("BATON_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        // The command may exit (bad arguments) before reading its input.
        let _ = input.write_all(s.as_bytes()).await;
    }
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
