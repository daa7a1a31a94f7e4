//! `baton user …`: the password comes from standard input and is never printed.

use super::*;

#[tokio::test]
async fn user_lifecycle() {
    let (dir, cfg) = setup().await;
    let pw = "cli-user-password-1";
    let r = baton(
        &cfg,
        &[
            "user",
            "create",
            "carol",
            "--password-stdin",
            "--claims",
            "{\"email\": \"carol@example.com\"}",
        ],
        Some(&format!("{pw}\n")),
    )
    .await
    .ok();
    assert!(r.stdout.contains("carol"), "{}", r.stdout);
    assert!(!r.stdout.contains(pw) && !r.stderr.contains(pw));
    let v = baton(&cfg, &["user", "show", "carol", "--json"], None)
        .await
        .ok()
        .json();
    let sub = v["sub"].as_str().unwrap().to_string();
    assert_eq!(v["claims"]["email"], "carol@example.com");
    assert_eq!(v["active"], true);
    assert!(
        v.get("password").is_none() && v.get("password_hash").is_none(),
        "{v}"
    );

    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let u = store.get_user("carol").await.unwrap().unwrap();
    assert!(u.password_hash.starts_with("$argon2id$"));
    assert!(baton_server::users::verifies(pw, &u.password_hash));
    store.close();

    let r = baton(&cfg, &["user", "list"], None).await.ok();
    assert!(
        r.stdout.lines().next().unwrap().starts_with("USERNAME"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&sub));

    // Rename keeps the sub; disable; new password from stdin.
    let v = baton(
        &cfg,
        &[
            "user",
            "update",
            "carol",
            "--rename",
            "caroline",
            "--active",
            "false",
            "--password-stdin",
            "--json",
        ],
        Some("another-password-2\n"),
    )
    .await
    .ok()
    .json();
    assert_eq!(v["username"], "caroline");
    assert_eq!(v["sub"], sub.as_str());
    assert_eq!(v["active"], false);
    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let u = store.get_user("caroline").await.unwrap().unwrap();
    assert!(baton_server::users::verifies(
        "another-password-2",
        &u.password_hash
    ));
    store.close();

    baton(&cfg, &["user", "show", "carol"], None)
        .await
        .fails(1, "carol");
    baton(
        &cfg,
        &["user", "create", "caroline", "--password-stdin"],
        Some("x-password-3\n"),
    )
    .await
    .fails(2, "exists");
    baton(&cfg, &["user", "delete", "caroline"], None)
        .await
        .ok();
    baton(&cfg, &["user", "delete", "caroline"], None)
        .await
        .fails(1, "caroline");
    let ev = baton(
        &cfg,
        &[
            "events",
            "--type",
            "user.changed",
            "--subject",
            &sub,
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(ev.as_array().unwrap().len(), 3, "{ev}");
}

/// `--admin` on create, `--admin true|false` on update: the console attribute, shown
/// by `show` and `list`, recorded as a change of `admin`.
#[tokio::test]
async fn the_admin_attribute_is_set_and_withdrawn() {
    let (_dir, cfg) = setup().await;
    let v = baton(
        &cfg,
        &[
            "user",
            "create",
            "ops",
            "--password-stdin",
            "--admin",
            "--json",
        ],
        Some("ops-password-1\n"),
    )
    .await
    .ok()
    .json();
    assert_eq!(v["admin"], true, "{v}");
    let plain = baton(
        &cfg,
        &["user", "create", "dave", "--password-stdin", "--json"],
        Some("dave-password-1\n"),
    )
    .await
    .ok()
    .json();
    assert_eq!(plain["admin"], false, "not an admin unless asked: {plain}");
    let r = baton(&cfg, &["user", "list"], None).await.ok();
    assert!(
        r.stdout.lines().next().unwrap().contains("ADMIN"),
        "{}",
        r.stdout
    );
    let v = baton(
        &cfg,
        &["user", "update", "ops", "--admin", "false", "--json"],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(v["admin"], false, "{v}");
    let r = baton(&cfg, &["user", "show", "ops"], None).await.ok();
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("admin"))
        .unwrap_or_default();
    assert!(line.ends_with("no"), "{}", r.stdout);
    baton(&cfg, &["user", "update", "ops", "--admin", "maybe"], None)
        .await
        .fails(2, "maybe");
}
