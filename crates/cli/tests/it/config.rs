//! `baton check-config` names the file, the key and the problem, and exits non-zero.

use std::path::PathBuf;
use std::process::Command;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let d = std::env::temp_dir().join(baton_core::random_id("baton-check-config-"));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check(path: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["check-config", "--config"])
        .arg(path)
        .env_remove("BATON_SECRET")
        .env("BATON_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_names_the_file_and_the_key() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("baton.secret"), baton_testkit::SECRET_B64).unwrap();
    let bad = dir.0.join("bad.toml");
    std::fs::write(
        &bad,
        "issuer = \"http://127.0.0.1:8080\"\nlisten_adress = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let (ok, _, err) = check(&bad);
    assert!(!ok, "a bad file fails");
    assert!(
        err.contains(&bad.display().to_string()),
        "names the file: {err}"
    );
    assert!(err.contains("listen_adress"), "names the key: {err}");

    let short = dir.0.join("short.toml");
    std::fs::write(
        &short,
        "[[clients]]\nclient_id = \"a\"\nclient_secret = \"too-short\"\nredirect_uris = [\"https://a.example/cb\"]\n",
    )
    .unwrap();
    let (ok, _, err) = check(&short);
    assert!(!ok);
    assert!(
        err.contains("short.toml") && err.contains("clients[0].client_secret"),
        "{err}"
    );
    assert!(err.contains("32"), "says what is wrong: {err}");

    let typed = dir.0.join("typed.toml");
    std::fs::write(&typed, "[refresh_tokens]\ngrace_period = 30\n").unwrap();
    let (ok, _, err) = check(&typed);
    assert!(!ok);
    assert!(err.contains("refresh_tokens.grace_period"), "{err}");

    let good = dir.0.join("good.toml");
    std::fs::write(&good, "issuer = \"http://127.0.0.1:8080\"\n").unwrap();
    let (ok, out, err) = check(&good);
    assert!(ok, "a good file passes: {out} {err}");
    assert!(out.contains("valid"), "{out}");
}

#[test]
fn a_typo_in_a_token_section_is_named_not_hidden() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("baton.secret"), baton_testkit::SECRET_B64).unwrap();
    let typo = dir.0.join("typo.toml");
    std::fs::write(&typo, "[refresh_tokens]\ngrace_periode = \"30s\"\n").unwrap();
    let (ok, _, err) = check(&typo);
    assert!(!ok);
    assert!(err.contains("refresh_tokens.grace_periode"), "{err}");
    assert!(err.contains("unknown field `grace_periode`"), "{err}");
    assert!(!err.contains("secret"), "not called a secret: {err}");
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn check_config_works_before_the_first_serve_and_warns_of_a_readable_secret() {
    let dir = TempDir::new();
    let file = dir.0.join("baton.toml");
    std::fs::write(&file, "issuer = \"http://127.0.0.1:8080\"\n").unwrap();
    let secret = dir.0.join("baton.secret");

    // No secret file yet: valid, with a note; nothing is created.
    let (ok, out, err) = check(&file);
    assert!(ok, "no secret file yet is not an error: {out} {err}");
    assert!(out.contains("valid"), "{out}");
    assert!(
        err.contains("note:") && err.contains("does not exist yet"),
        "{err}"
    );
    assert!(!err.contains("warning:"), "{err}");
    assert!(!secret.exists(), "check-config creates nothing");

    // A secret file every user may read: valid, with a warning naming the file.
    std::fs::write(&secret, baton_testkit::SECRET_B64).unwrap();
    set_mode(&secret, 0o644);
    let (ok, out, err) = check(&file);
    assert!(ok, "{out} {err}");
    assert!(
        err.contains("warning:") && err.contains("readable by every user"),
        "{err}"
    );
    assert!(err.contains(&secret.display().to_string()), "{err}");
    assert!(!err.contains(baton_testkit::SECRET_B64), "{err}");

    // Readable by its group only: no warning, no note.
    set_mode(&secret, 0o640);
    let (ok, out, err) = check(&file);
    assert!(ok, "{out} {err}");
    assert!(!err.contains("warning:") && !err.contains("note:"), "{err}");

    // A secret file that is there but wrong is still an error.
    std::fs::write(&secret, "c2hvcnQ=").unwrap();
    let (ok, _, err) = check(&file);
    assert!(!ok);
    assert!(err.contains("secret_file") && err.contains("32"), "{err}");
}

#[tokio::test]
async fn serve_warns_at_start_up_of_a_world_readable_secret() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = TempDir::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let file = baton_testkit::write_config(&dir.0, port, "");
    let secret = dir.0.join("baton.secret");
    set_mode(&secret, 0o604);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--config"])
        .arg(&file)
        .env_remove("BATON_SECRET")
        .env("BATON_LOG", "warn")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let found = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("readable by every user") {
                return Some(l);
            }
        }
        None
    })
    .await;
    let _ = child.kill().await;
    let _ = child.wait().await;
    let line = found
        .ok()
        .flatten()
        .expect("serve logs a warning for a world-readable secret file");
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(&secret.display().to_string()), "{line}");
}
