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
