//! `baton client …`: create (the secret printed once, stored hashed), list, show,
//! update, delete; not found exits 1.

use super::*;

#[tokio::test]
async fn client_lifecycle() {
    let (dir, cfg) = setup().await;
    let r = baton(
        &cfg,
        &[
            "client",
            "create",
            "cli-app",
            "--name",
            "CLI App",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "openid offline_access",
            "--scope",
            "api",
            "--refresh-tokens",
            "{\"usage\": \"one_time\"}",
            "--allowed-origin",
            "https://app.example",
            "--json",
        ],
        None,
    )
    .await
    .ok();
    let v = r.json();
    assert_eq!(v["client_id"], "cli-app");
    assert_eq!(
        v["allowed_origins"],
        serde_json::json!(["https://app.example"])
    );
    let secret = v["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43, "{secret}");
    assert_eq!(
        v["scopes"],
        serde_json::json!(["openid", "offline_access", "api"])
    );
    assert_eq!(v["refresh_tokens"]["usage"], "one_time");

    // Stored as its SHA-256 only.
    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let c = store.get_client("cli-app").await.unwrap().unwrap();
    assert_eq!(
        c.secret_sha256,
        Some(baton_core::secret::sha256(secret.as_bytes()))
    );
    store.close();

    // Human output: the secret once, with a warning; later views never show it.
    let r = baton(
        &cfg,
        &[
            "client",
            "create",
            "public-app",
            "--auth-method",
            "none",
            "--redirect-uri",
            "https://p.example/cb",
        ],
        None,
    )
    .await
    .ok();
    assert!(r.stdout.contains("public-app"), "{}", r.stdout);
    assert!(!r.stdout.contains("client_secret"), "{}", r.stdout);
    let r = baton(&cfg, &["client", "show", "cli-app"], None).await.ok();
    assert!(r.stdout.contains("CLI App"), "{}", r.stdout);
    assert!(!r.stdout.contains(&secret));
    assert!(baton(&cfg, &["client", "show", "cli-app", "--json"], None)
        .await
        .ok()
        .json()
        .get("client_secret")
        .is_none());

    let r = baton(&cfg, &["client", "list"], None).await.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("CLIENT_ID"), "{}", r.stdout);
    assert!(
        lines.iter().any(|l| l.starts_with("cli-app ")),
        "{}",
        r.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("public-app ")),
        "{}",
        r.stdout
    );
    let list = baton(&cfg, &["client", "list", "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 2);

    let v = baton(
        &cfg,
        &[
            "client", "update", "cli-app", "--name", "Renamed", "--active", "false", "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(v["client_name"], "Renamed");
    assert_eq!(v["active"], false);
    assert!(v.get("client_secret").is_none(), "{v}");
    // The secret survived the update.
    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let c = store.get_client("cli-app").await.unwrap().unwrap();
    assert_eq!(
        c.secret_sha256,
        Some(baton_core::secret::sha256(secret.as_bytes()))
    );
    assert!(!c.active);
    store.close();

    // Taken id: bad arguments.
    baton(
        &cfg,
        &[
            "client",
            "create",
            "cli-app",
            "--redirect-uri",
            "https://app.example/cb",
        ],
        None,
    )
    .await
    .fails(2, "exists");
    // Not found: 1.
    baton(&cfg, &["client", "show", "nope"], None)
        .await
        .fails(1, "nope");
    baton(&cfg, &["client", "update", "nope", "--name", "x"], None)
        .await
        .fails(1, "nope");
    baton(&cfg, &["client", "delete", "nope"], None)
        .await
        .fails(1, "nope");

    let r = baton(&cfg, &["client", "delete", "cli-app"], None)
        .await
        .ok();
    assert!(r.stdout.contains("deleted"), "{}", r.stdout);
    baton(&cfg, &["client", "show", "cli-app"], None)
        .await
        .fails(1, "cli-app");
    let ev = baton(
        &cfg,
        &[
            "events",
            "--type",
            "client.changed",
            "--client",
            "cli-app",
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    let actions: Vec<&str> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["deleted", "updated", "created"]);
    // No secret anywhere in the event log.
    let all = baton(&cfg, &["events", "--json", "--limit", "1000"], None)
        .await
        .ok();
    assert!(!all.stdout.contains(&secret));
}

/// The CLI refuses to change or delete what the configuration file defines, as the
/// admin API does (exit 2, naming the file); `client list` and `user list` read every
/// page and show who manages each entry.
#[tokio::test]
async fn configured_entries_are_read_only_and_lists_read_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = baton_testkit::write_config(dir.path(), 9, baton_testkit::BASE_CLIENTS);
    baton_testkit::seed_keys(dir.path()).await;
    for args in [
        &["client", "update", "web", "--name", "Renamed"][..],
        &["client", "update", "spa", "--active", "false"][..],
        &["client", "delete", "web"][..],
        &["user", "update", "alice", "--active", "false"][..],
        &["user", "delete", "alice"][..],
    ] {
        baton(&cfg, args, None)
            .await
            .fails(2, "defined in the configuration file");
    }
    let v = baton(&cfg, &["client", "show", "web", "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(
        (&v["client_name"], &v["managed_by"]),
        (&"Web App".into(), &"config".into())
    );
    let v = baton(&cfg, &["user", "show", "alice", "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(
        (&v["active"], &v["managed_by"]),
        (&true.into(), &"config".into())
    );

    // More clients than one page holds (1000): the list reads them all, in order.
    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let base = store.get_client("web").await.unwrap().unwrap();
    let mut inserts = tokio::task::JoinSet::new();
    for i in 0..1001 {
        let mut c = base.clone();
        c.client_id = format!("bulk-{i:04}");
        c.managed_by = baton_core::model::ManagedBy::Api;
        let store = store.clone();
        inserts.spawn(async move { store.insert_client(&c).await.unwrap() });
    }
    while let Some(r) = inserts.join_next().await {
        r.unwrap();
    }
    store.close();
    let list = baton(&cfg, &["client", "list", "--json"], None)
        .await
        .ok()
        .json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1003);
    assert_eq!(
        (ids[0], ids[1000], ids[1001], ids[1002]),
        ("bulk-0000", "bulk-1000", "spa", "web")
    );
    assert_eq!(list[1002]["managed_by"], "config");
    assert_eq!(list[0]["managed_by"], "api");
    let r = baton(&cfg, &["client", "list"], None).await.ok();
    let web = r.stdout.lines().find(|l| l.starts_with("web ")).unwrap();
    assert!(web.trim_end().ends_with("config"), "{}", r.stdout);
    let r = baton(&cfg, &["user", "list"], None).await.ok();
    assert!(
        r.stdout.lines().next().unwrap().contains("MANAGED_BY"),
        "{}",
        r.stdout
    );
    let alice = r.stdout.lines().find(|l| l.starts_with("alice ")).unwrap();
    assert!(alice.trim_end().ends_with("config"), "{}", r.stdout);
    // API-managed clients stay editable from the CLI.
    baton(&cfg, &["client", "delete", "bulk-0500"], None)
        .await
        .ok();
}

/// `baton client reset-secret`: a new secret, printed once, whose SHA-256 replaces the
/// stored one; a public client has none to reset (exit 2).
#[tokio::test]
async fn reset_secret_prints_a_new_one_once() {
    let (dir, cfg) = setup().await;
    let v = baton(
        &cfg,
        &[
            "client",
            "create",
            "svc",
            "--redirect-uri",
            "https://svc.example/cb",
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    let old = v["client_secret"].as_str().unwrap().to_string();
    let v = baton(&cfg, &["client", "reset-secret", "svc", "--json"], None)
        .await
        .ok()
        .json();
    let new = v["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let c = store.get_client("svc").await.unwrap().unwrap();
    assert_eq!(
        c.secret_sha256,
        Some(baton_core::secret::sha256(new.as_bytes()))
    );
    store.close();
    let shown = baton(&cfg, &["client", "show", "svc"], None).await.ok();
    assert!(!shown.stdout.contains(&new), "shown once");
    baton(
        &cfg,
        &[
            "client",
            "create",
            "pub",
            "--auth-method",
            "none",
            "--redirect-uri",
            "https://p.example/cb",
        ],
        None,
    )
    .await
    .ok();
    baton(&cfg, &["client", "reset-secret", "pub"], None)
        .await
        .fails(2, "no secret to reset");
}
