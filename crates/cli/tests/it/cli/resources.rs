//! `baton resource …`, the clients' resource and claim options and users' roles and
//! groups: output, exit codes, what the store holds, and a running server that serves
//! what the CLI changed.

use super::*;
use serde_json::json;

const API: &str = "https://api.example.com/invoices";
/// [`API`] percent-encoded as one path segment.
const API_PATH: &str = "/admin/resources/https%3A%2F%2Fapi.example.com%2Finvoices";

#[tokio::test]
async fn resource_lifecycle() {
    let (dir, cfg) = setup().await;
    let v = baton(
        &cfg,
        &[
            "resource",
            "create",
            API,
            "--name",
            "Invoices",
            "--scope",
            "invoices.read invoices.write",
            "--scope",
            "invoices.admin",
            "--scope-description",
            "invoices.read=see your invoices",
            "--scope-description",
            "invoices.write = change your invoices",
            "--claim",
            "roles",
            "--claim",
            "department",
            "--access-token-format",
            "reference",
            "--access-token-lifetime",
            "5m",
            "--signing-alg",
            "ES256",
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(v["identifier"], API);
    assert_eq!(
        v["scopes"],
        json!(["invoices.read", "invoices.write", "invoices.admin"])
    );
    assert_eq!(
        v["scope_descriptions"],
        json!({"invoices.read": "see your invoices", "invoices.write": "change your invoices"})
    );
    assert_eq!(v["claims"], json!(["roles", "department"]));
    assert_eq!(
        (
            &v["access_token_format"],
            &v["access_token_lifetime"],
            &v["signing_alg"]
        ),
        (&json!("reference"), &json!("5m"), &json!("ES256"))
    );
    assert_eq!(
        (&v["active"], &v["managed_by"]),
        (&json!(true), &json!("api"))
    );

    let store = baton_store::open(&baton_testkit::sqlite_url(dir.path()), 2)
        .await
        .unwrap();
    let r = store.get_resource(API).await.unwrap().unwrap();
    assert_eq!(
        r.access_token_lifetime,
        Some(baton_core::time::Dur::secs(300))
    );
    store.close();

    let r = baton(&cfg, &["resource", "show", API], None).await.ok();
    for want in [
        "Invoices",
        "invoices.admin",
        "invoices.read=see your invoices",
        "ES256",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
    baton(
        &cfg,
        &["resource", "create", "urn:example:orders", "--inactive"],
        None,
    )
    .await
    .ok();
    let r = baton(&cfg, &["resource", "list"], None).await.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("IDENTIFIER"), "{}", r.stdout);
    assert!(lines[1].starts_with(API), "{}", r.stdout);
    assert!(lines[2].starts_with("urn:example:orders"), "{}", r.stdout);
    let list = baton(&cfg, &["resource", "list", "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(list[1]["active"], false);

    // Update: only what is given; a repeated option replaces the list.
    let v = baton(
        &cfg,
        &[
            "resource",
            "update",
            API,
            "--scope",
            "invoices.read",
            "--scope-description",
            "invoices.read=read them",
            "--active",
            "false",
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(v["scopes"], json!(["invoices.read"]));
    assert_eq!(
        v["scope_descriptions"],
        json!({"invoices.read": "read them"})
    );
    assert_eq!(v["active"], false);
    assert_eq!(v["claims"], json!(["roles", "department"]), "left alone");
    assert_eq!(v["name"], "Invoices", "left alone");

    // Refusals name the key (exit 2); unknown ones exit 1.
    baton(&cfg, &["resource", "update", API, "--claim", "aud"], None)
        .await
        .fails(2, "claims[0]");
    baton(
        &cfg,
        &["resource", "update", API, "--scope", "openid"],
        None,
    )
    .await
    .fails(2, "scopes[0]");
    baton(&cfg, &["resource", "create", "not a uri"], None)
        .await
        .fails(2, "identifier");
    baton(&cfg, &["resource", "create", API], None)
        .await
        .fails(2, "exists");
    for args in [
        &["resource", "show", "urn:example:none"][..],
        &["resource", "update", "urn:example:none", "--name", "x"][..],
        &["resource", "delete", "urn:example:none"][..],
    ] {
        baton(&cfg, args, None).await.fails(1, "urn:example:none");
    }

    // Clients name resources that exist, with the claim-mapping options.
    baton(
        &cfg,
        &[
            "client",
            "create",
            "svc",
            "--grant-type",
            "client_credentials",
            "--resource",
            API,
            "--resource",
            "urn:example:nope",
        ],
        None,
    )
    .await
    .fails(2, "resources[1]");
    let c = baton(
        &cfg,
        &[
            "client",
            "create",
            "svc",
            "--grant-type",
            "client_credentials",
            "--scope",
            "invoices.read",
            "--resource",
            API,
            "--resource",
            "urn:example:orders",
            "--default-resource",
            API,
            "--introspect-resource",
            "urn:example:orders",
            "--id-token-claim",
            "roles",
            "--userinfo-claim",
            "groups",
            "--access-token-claim",
            "department",
            "--access-token-claim",
            "roles",
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(c["resources"], json!([API, "urn:example:orders"]));
    assert_eq!(c["default_resource"], API);
    assert_eq!(c["introspect_resources"], json!(["urn:example:orders"]));
    assert_eq!(c["id_token_claims"], json!(["roles"]));
    assert_eq!(c["userinfo_claims"], json!(["groups"]));
    assert_eq!(c["access_token_claims"], json!(["department", "roles"]));
    let r = baton(&cfg, &["client", "show", "svc"], None).await.ok();
    assert!(r.stdout.contains("urn:example:orders"), "{}", r.stdout);
    let v = baton(&cfg, &["resource", "show", API, "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(v["clients"], json!(["svc"]));

    // A resource a client names cannot be deleted.
    baton(&cfg, &["resource", "delete", "urn:example:orders"], None)
        .await
        .fails(2, "svc (resources), svc (introspect_resources)");
    let v = baton(
        &cfg,
        &[
            "client",
            "update",
            "svc",
            "--resource",
            API,
            "--introspect-resource",
            API,
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(v["resources"], json!([API]));
    assert_eq!(v["default_resource"], API, "left alone");
    assert_eq!(v["access_token_claims"], json!(["department", "roles"]));
    baton(
        &cfg,
        &[
            "client",
            "update",
            "svc",
            "--default-resource",
            "urn:example:orders",
        ],
        None,
    )
    .await
    .fails(2, "default_resource");
    let r = baton(&cfg, &["resource", "delete", "urn:example:orders"], None)
        .await
        .ok();
    assert!(r.stdout.contains("deleted"), "{}", r.stdout);
    baton(&cfg, &["resource", "show", "urn:example:orders"], None)
        .await
        .fails(1, "urn:example:orders");
    baton(&cfg, &["resource", "delete", API], None)
        .await
        .fails(2, "svc");
    baton(&cfg, &["client", "delete", "svc"], None).await.ok();
    let v = baton(&cfg, &["resource", "delete", API, "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(v, json!({"deleted": API}));
}

#[tokio::test]
async fn user_roles_and_groups() {
    let (_dir, cfg) = setup().await;
    let v = baton(
        &cfg,
        &[
            "user",
            "create",
            "dana",
            "--password-stdin",
            "--role",
            "accountant",
            "--role",
            "Read Only",
            "--group",
            "finance",
            "--json",
        ],
        Some("dana-password-1\n"),
    )
    .await
    .ok()
    .json();
    assert_eq!(v["roles"], json!(["accountant", "Read Only"]));
    assert_eq!(v["groups"], json!(["finance"]));
    let r = baton(&cfg, &["user", "show", "dana"], None).await.ok();
    assert!(
        r.stdout.contains(r#"["accountant","Read Only"]"#),
        "{}",
        r.stdout
    );
    let v = baton(
        &cfg,
        &["user", "update", "dana", "--role", "admin", "--json"],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(
        (&v["roles"], &v["groups"]),
        (&json!(["admin"]), &json!(["finance"]))
    );
    let v = baton(
        &cfg,
        &[
            "user", "update", "dana", "--group", "ops", "--group", "hr", "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(
        (&v["roles"], &v["groups"]),
        (&json!(["admin"]), &json!(["ops", "hr"]))
    );
    baton(&cfg, &["user", "update", "dana", "--role", ""], None)
        .await
        .fails(2, "roles[0]");
    baton(
        &cfg,
        &["user", "update", "dana", "--claims", r#"{"roles": ["x"]}"#],
        None,
    )
    .await
    .fails(2, "claims.roles");
}

const CONFIGURED: &str = r#"
[[resources]]
identifier = "https://api.example.com/invoices"
scopes = ["invoices.read"]
"#;

#[tokio::test]
async fn configured_resources_are_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = baton_testkit::write_config(dir.path(), 9, CONFIGURED);
    baton_testkit::seed_keys(dir.path()).await;
    for args in [
        &["resource", "update", API, "--name", "Renamed"][..],
        &["resource", "update", API, "--active", "false"][..],
        &["resource", "delete", API][..],
    ] {
        baton(&cfg, args, None)
            .await
            .fails(2, "defined in the configuration file");
    }
    let v = baton(&cfg, &["resource", "show", API, "--json"], None)
        .await
        .ok()
        .json();
    assert_eq!(
        (&v["name"], &v["managed_by"]),
        (&Value::Null, &json!("config"))
    );
    let r = baton(&cfg, &["resource", "list"], None).await.ok();
    let line = r.stdout.lines().find(|l| l.starts_with(API)).unwrap();
    assert!(line.trim_end().ends_with("config"), "{}", r.stdout);
}

/// The CLI writes the store a running server reads: a resource, a client for it and a
/// user's roles made with the CLI are what the server serves and issues tokens for.
#[tokio::test]
async fn a_running_server_serves_what_the_cli_made() {
    let s = baton_testkit::TestServer::start_admin("").await;
    let cfg = s.dir.path().join("baton.toml");
    baton(
        &cfg,
        &[
            "resource",
            "create",
            API,
            "--scope",
            "invoices.read invoices.write",
            "--claim",
            "roles",
        ],
        None,
    )
    .await
    .ok();
    let c = baton(
        &cfg,
        &[
            "client",
            "create",
            "svc",
            "--grant-type",
            "client_credentials",
            "--scope",
            "invoices.read",
            "--resource",
            API,
            "--json",
        ],
        None,
    )
    .await
    .ok()
    .json();
    let secret = c["client_secret"].as_str().unwrap().to_string();
    let (st, v) = crate::admin::call(&s, "GET", API_PATH, None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["clients"], json!(["svc"]));
    assert_eq!(v["scopes"], json!(["invoices.read", "invoices.write"]));

    let (st, t) = s
        .post_form(
            "/token",
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials"), ("resource", API)],
        )
        .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(
        t["scope"], "invoices.read",
        "the client's scopes of the resource"
    );
    let claims = baton_testkit::flow::jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], API, "{claims}");

    // Deactivated with the CLI: the server refuses it at once.
    baton(
        &cfg,
        &["resource", "update", API, "--active", "false"],
        None,
    )
    .await
    .ok();
    let (st, t) = s
        .post_form(
            "/token",
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials"), ("resource", API)],
        )
        .await;
    assert_eq!(
        (st.as_u16(), &t["error"]),
        (400, &json!("invalid_target")),
        "{t}"
    );

    baton(
        &cfg,
        &[
            "user",
            "create",
            "erin",
            "--password-stdin",
            "--role",
            "auditor",
        ],
        Some("erin-password-1\n"),
    )
    .await
    .ok();
    let (st, u) = crate::admin::call(&s, "GET", "/admin/users/erin", None).await;
    assert_eq!((st, &u["roles"]), (200, &json!(["auditor"])), "{u}");
}
