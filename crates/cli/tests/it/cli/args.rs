//! Help text, bad arguments and exit codes: a clear message, never a panic.

use super::*;

#[tokio::test]
async fn help_lists_the_operator_commands_and_exit_codes() {
    let r = baton_raw(&["--help"]).await.ok();
    for c in [
        "client",
        "user",
        "resource",
        "grants",
        "revoke",
        "events",
        "keys",
        "Exit codes",
    ] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
    let r = baton_raw(&["client", "--help"]).await.ok();
    for c in [
        "list", "show", "create", "update", "delete", "--json", "--config",
    ] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
    let r = baton_raw(&["resource", "--help"]).await.ok();
    for c in ["list", "show", "create", "update", "delete", "--json"] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
    let r = baton_raw(&["resource", "update", "--help"]).await.ok();
    for c in [
        "--name",
        "--scope",
        "--scope-description",
        "--claim",
        "--access-token-format",
        "--access-token-lifetime",
        "--signing-alg",
        "--active",
    ] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
    let r = baton_raw(&["client", "create", "--help"]).await.ok();
    for c in [
        "--resource",
        "--default-resource",
        "--introspect-resource",
        "--id-token-claim",
        "--userinfo-claim",
        "--access-token-claim",
    ] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
    let r = baton_raw(&["user", "update", "--help"]).await.ok();
    for c in ["--role", "--group"] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
    let r = baton_raw(&["user", "create", "--help"]).await.ok();
    assert!(r.stdout.contains("--password-stdin"), "{}", r.stdout);
    assert!(!r.stdout.contains("--password "), "{}", r.stdout);
    let r = baton_raw(&["revoke", "--help"]).await.ok();
    for c in ["--client", "--subject", "--grant"] {
        assert!(r.stdout.contains(c), "{c}: {}", r.stdout);
    }
}

#[tokio::test]
async fn bad_arguments_exit_2_with_a_message() {
    let (_dir, cfg) = setup().await;
    let cases: &[(&[&str], &str)] = &[
        (&["client"], "Usage"),
        (&["client", "frobnicate"], "unrecognized subcommand"),
        (&["client", "show"], "CLIENT_ID"),
        (&["revoke"], "--client"),
        (&["revoke", "--grant", "zz"], "not a grant id"),
        (
            &[
                "revoke",
                "--grant",
                "00000000000000000000000000000000",
                "--client",
                "web",
            ],
            "cannot be used with",
        ),
        (&["events", "--limit", "0"], "--limit"),
        (&["events", "--limit", "many"], "--limit"),
        (&["events", "--since", "yesterday"], "RFC 3339"),
        (&["grants", "list", "--limit", "5000"], "--limit"),
        (&["user", "create", "bob"], "--password-stdin"),
        (&["user", "update", "bob"], "nothing to change"),
        (&["client", "update", "web"], "nothing to change"),
        (&["resource", "update", "urn:x:a"], "nothing to change"),
        (&["resource"], "Usage"),
        (
            &[
                "resource",
                "create",
                "urn:x:a",
                "--scope-description",
                "nope",
            ],
            "SCOPE=WORDS",
        ),
        (
            &["resource", "create", "urn:x:a", "--signing-alg", "HS256"],
            "signing_alg",
        ),
        (
            &[
                "resource",
                "create",
                "urn:x:a",
                "--access-token-lifetime",
                "soon",
            ],
            "access_token_lifetime",
        ),
        (
            &[
                "client",
                "create",
                "x",
                "--grant-type",
                "client_credentials",
                "--resource",
                "urn:x:none",
            ],
            "resources[0]",
        ),
        (
            &[
                "client",
                "create",
                "x",
                "--grant-type",
                "client_credentials",
                "--id-token-claim",
                "nonce",
            ],
            "id_token_claims[0]",
        ),
        (
            &["client", "create", "x", "--grant-type", "magic"],
            "grant_types",
        ),
        (
            &[
                "client",
                "create",
                "x",
                "--redirect-uri",
                "http://evil.example/cb",
            ],
            "redirect_uris",
        ),
        (
            &[
                "client",
                "create",
                "x",
                "--grant-type",
                "client_credentials",
                "--refresh-tokens",
                "{\"grace_period\": \"soon\"}",
            ],
            "grace_period",
        ),
        (
            &["client", "create", "x", "--refresh-tokens", "[1]"],
            "--refresh-tokens",
        ),
        (&["client", "create", "x", "--jwks", "nope"], "--jwks"),
        (
            &[
                "user",
                "create",
                "bob",
                "--password-stdin",
                "--claims",
                "[]",
            ],
            "--claims",
        ),
        (
            &["client", "update", "web", "--active", "maybe"],
            "--active",
        ),
    ];
    for (args, says) in cases {
        let r = baton(&cfg, args, Some("a-password-123\n")).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    // An empty standard input is no password.
    baton(
        &cfg,
        &["user", "create", "bob", "--password-stdin"],
        Some(""),
    )
    .await
    .fails(2, "no password");
}

#[tokio::test]
async fn a_bad_configuration_exits_2_and_an_unreachable_store_3() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let r = baton(&missing, &["client", "list"], None).await;
    r.fails(2, "cannot read the file");
    let bad =
        baton_testkit::write_config(dir.path(), 9, "[refresh_tokens]\nusage = \"sometimes\"\n");
    baton(&bad, &["client", "list"], None)
        .await
        .fails(2, "refresh_tokens.usage");
    let unreachable = baton_testkit::write_config_with_storage(
        dir.path(),
        9,
        "sqlite:///nonexistent-baton-dir/x/baton.db",
        "",
    );
    baton(&unreachable, &["client", "list"], None)
        .await
        .fails(3, "store");
    baton(&unreachable, &["events"], None)
        .await
        .fails(3, "store");
}
