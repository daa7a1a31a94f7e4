//! The same conformance suite against the machine's PostgreSQL (127.0.0.1:5432, or
//! `BATON_TEST_POSTGRES_URL`), each test in its own freshly created schema that is
//! dropped at the end, so parallel tests and repeated runs never collide. Then what is
//! PostgreSQL's own: migrations under concurrent start-up, a schema newer than the
//! binary, recovery from killed connections, a bounded pool, and a real server on
//! PostgreSQL over HTTP.

use baton_core::error::StoreError;
use baton_core::store::prelude::*;
use baton_store::PgStore;
use baton_testkit::conformance as suite;
use baton_testkit::pg::{self, PgSchema};
use baton_testkit::TestServer;
use reqwest::StatusCode;
use std::sync::Arc;

async fn open(schema: &PgSchema, pool: usize) -> Arc<PgStore> {
    Arc::new(PgStore::open(&schema.url, pool).await.unwrap())
}

/// Every conformance check on PostgreSQL, each in a fresh schema, through the URL
/// dispatch the server uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    suite::run_on_store(
        "postgres",
        || async {
            let schema = PgSchema::create().await;
            let s = baton_store::open(&schema.url, 16).await.unwrap();
            ((schema, s.clone()), s)
        },
        |(schema, s)| async move {
            s.close();
            drop(schema);
        },
    )
    .await;
}

async fn applied_versions(schema: &PgSchema) -> i64 {
    pg::query_i64(&schema.url, "SELECT COUNT(*) FROM schema_migrations")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_starting_at_once_migrate_once() {
    let schema = PgSchema::create().await;
    let mut opens = Vec::new();
    for _ in 0..6 {
        let url = schema.url.clone();
        opens.push(tokio::spawn(async move { PgStore::open(&url, 2).await }));
    }
    for o in opens {
        let s = o.await.unwrap().unwrap();
        s.ping().await.unwrap();
        s.close();
    }
    assert_eq!(
        applied_versions(&schema).await,
        baton_store::postgres::MIGRATIONS.len() as i64
    );
    // Opening again applies nothing and still works.
    let s = open(&schema, 2).await;
    assert!(s.list_clients().await.unwrap().is_empty());
}

/// The bootstrap lock: a second store on the same schema waits until the first guard
/// is dropped (also when the holder's pool has one connection, all in use), a store on
/// another schema does not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bootstrap_lock_excludes_other_nodes_of_the_schema_only() {
    use std::time::Duration;
    let (schema, other) = (PgSchema::create().await, PgSchema::create().await);
    let (a, b, c) = (
        open(&schema, 1).await,
        open(&schema, 1).await,
        open(&other, 1).await,
    );
    let held = a.lock_bootstrap().await.unwrap();
    // The holder can still use its one pooled connection: the lock has its own.
    a.list_keys().await.unwrap();
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { b.lock_bootstrap().await.map(|_guard| ()) })
    };
    tokio::time::timeout(Duration::from_secs(5), c.lock_bootstrap())
        .await
        .expect("another schema does not wait")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the same schema waits for the holder"
    );
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("released when the guard is dropped")
        .unwrap()
        .unwrap();
    // Released again when the second guard was dropped.
    tokio::time::timeout(Duration::from_secs(10), a.lock_bootstrap())
        .await
        .expect("free again")
        .unwrap();
}

#[tokio::test]
async fn postgres_refuses_a_schema_newer_than_the_binary() {
    let schema = PgSchema::create().await;
    open(&schema, 1).await.close();
    pg::execute(
        &schema.url,
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
    )
    .await
    .unwrap();
    let e = PgStore::open(&schema.url, 1).await.err().unwrap();
    let m = e.to_string();
    assert!(
        m.contains("schema is version 9999, newer than this binary's"),
        "{m}"
    );
}

#[tokio::test]
async fn postgres_unreachable_database_is_a_clear_error() {
    let e = baton_store::open("postgres://baton:hunter2@127.0.0.1:1/baton", 4)
        .await
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    assert!(m.contains("postgres://baton:***@127.0.0.1:1/baton"), "{m}");
    assert!(!m.contains("hunter2"), "{m}");
}

/// The database drops every connection of this store (as on a restart): requests
/// fail with `Unavailable`, never a wrong answer or a panic, and the pool recovers by
/// itself with fresh connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_recovers_when_connections_are_killed() {
    let schema = PgSchema::create().await;
    let app = format!("baton_{}", schema.name);
    let url = format!("{}&application_name={app}", schema.url);
    let s = Arc::new(PgStore::open(&url, 4).await.unwrap());
    let g = suite::grant("c1", "alice", None, suite::T0);
    s.insert_grant(&g, suite::event("grant.created", suite::T0, None, None))
        .await
        .unwrap();
    // Fill the pool with idle connections.
    let mut reads = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        reads.push(tokio::spawn(async move { s.get_grant(g.id).await }));
    }
    for r in reads {
        r.await.unwrap().unwrap().unwrap();
    }
    // FILTER runs only on the rows the WHERE kept: this store's connections, no other.
    let kill = format!(
        "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE application_name = '{app}' AND pid <> pg_backend_pid()"
    );
    let killed = pg::query_i64(&pg::base_url(), &kill).await.unwrap();
    assert!(killed >= 1, "no connection of this store was found to kill");

    let mut recovered = false;
    for _ in 0..6 {
        match s.get_grant(g.id).await {
            Ok(Some(back)) => {
                assert_eq!(back, g);
                recovered = true;
                break;
            }
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("a killed connection must read as unavailable: {other:?}"),
        }
    }
    assert!(recovered, "the pool did not recover");
    // Writes work again too, and rotation is still exactly-once.
    assert!(s.advance(g.id, 1, suite::T0).await.unwrap());
    assert!(!s.advance(g.id, 1, suite::T0).await.unwrap());
}

/// More concurrent callers than connections: they wait their turn, all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pool_bounds_connections() {
    let schema = PgSchema::create().await;
    let s = open(&schema, 2).await;
    let g = suite::grant("c1", "alice", None, suite::T0);
    s.insert_grant(&g, suite::event("grant.created", suite::T0, None, None))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                s.get_grant(g.id).await.map(|_| ())
            } else {
                s.touch(g.id, suite::T0).await
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

/// A real server on PostgreSQL, over HTTP: password grant, rotation, a grace replay
/// answering the identical successor, 20 concurrent refreshes advancing once, then
/// reuse detection revoking the grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_refresh_chain_over_http() {
    let schema = PgSchema::create().await;
    let s = Arc::new(TestServer::start_with_storage(&schema.url, "").await);
    let ready = s
        .http
        .get(format!("{}/readyz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let t = s.password_grant_public("openid offline_access").await;
    let t1 = t["refresh_token"].as_str().unwrap().to_string();
    let (st, r2) = s.refresh_public(&t1).await;
    assert_eq!(st, StatusCode::OK, "{r2}");
    let t2 = r2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(t1, t2, "public clients rotate");

    // A retry inside the grace period answers the same successor, byte for byte.
    s.advance(baton_core::time::Dur::secs(10));
    let (st, again) = s.refresh_public(&t1).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["refresh_token"].as_str().unwrap(), t2);

    // Concurrent refreshes of t2: one rotation, one successor for everyone.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, t2) = (s.clone(), t2.clone());
        tasks.push(tokio::spawn(async move { s.refresh_public(&t2).await }));
    }
    let mut successors = std::collections::BTreeSet::new();
    for task in tasks {
        let (st, v) = task.await.unwrap();
        assert_eq!(st, StatusCode::OK, "{v}");
        successors.insert(v["refresh_token"].as_str().unwrap().to_string());
    }
    assert_eq!(successors.len(), 1, "the chain forked: {successors:?}");
    let t3 = successors.into_iter().next().unwrap();
    let grants = s.state().store.list_grants(None, None, 10).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].generation, 3, "advanced exactly twice");

    // Past the grace period, t1 is reuse: the grant is revoked, t3 dies with it.
    s.advance(baton_core::time::Dur::secs(60));
    let (st, v) = s.refresh_public(&t1).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    let (st, v) = s.refresh_public(&t3).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    assert_eq!(s.events("token.reuse_detected").await.len(), 1);
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].grant_id, Some(grants[0].id));
    assert!(!s
        .state()
        .store
        .get_grant(grants[0].id)
        .await
        .unwrap()
        .unwrap()
        .is_active());
}

/// PostgreSQL text cannot hold a NUL byte. Wherever one reaches the database (admin
/// paths, queries and bodies, usernames at the password grant and `/login`, a
/// `client_id` at `/token`, registration metadata) the answer is a 4xx, never a 503.
#[tokio::test]
async fn postgres_nul_bytes_in_input_are_never_a_503() {
    let schema = PgSchema::create().await;
    let s =
        TestServer::start_admin_with_storage(&schema.url, "[registration]\nenabled = true\n").await;
    let admin = |m: reqwest::Method, path: &str, body: Option<&str>| {
        let mut r = s
            .http
            .request(m, format!("{}{path}", s.url))
            .bearer_auth(baton_testkit::ADMIN_TOKEN);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        r.send()
    };
    use reqwest::Method as M;
    let nul_client = r#"{"client_id": "a\u0000b", "redirect_uris": ["https://app.example/cb"]}"#;
    let nul_user = r#"{"username": "a\u0000b", "password": "long-enough-password-1"}"#;
    let nul_claims = r#"{"claims": {"name": "a\u0000b"}}"#;
    // The PATCH below must reach the store: alice is the configuration file's.
    s.api_managed_user("alice").await;
    for (m, path, body, allowed) in [
        (M::GET, "/admin/clients/a%00b", None, &[404][..]),
        (M::PATCH, "/admin/clients/a%00b", Some("{}"), &[404][..]),
        (M::DELETE, "/admin/clients/a%00b", None, &[404][..]),
        (M::GET, "/admin/users/a%00b", None, &[404][..]),
        (M::DELETE, "/admin/users/a%00b", None, &[404][..]),
        (
            M::GET,
            "/admin/grants?client_id=a%00b",
            None,
            &[200, 400][..],
        ),
        (M::GET, "/admin/grants?subject=a%00b", None, &[200, 400][..]),
        (M::GET, "/admin/events?type=a%00b", None, &[200, 400][..]),
        (
            M::GET,
            "/admin/events?client_id=a%00b",
            None,
            &[200, 400][..],
        ),
        (M::GET, "/admin/clients?cursor=a%00b", None, &[200, 400][..]),
        (M::POST, "/admin/clients", Some(nul_client), &[400][..]),
        (M::POST, "/admin/users", Some(nul_user), &[400][..]),
        (M::PATCH, "/admin/users/alice", Some(nul_claims), &[400][..]),
        (
            M::POST,
            "/admin/revocations",
            Some(r#"{"client_id": "a\u0000b"}"#),
            &[200, 400][..],
        ),
    ] {
        let r = admin(m.clone(), path, body).await.unwrap();
        let st = r.status().as_u16();
        let v = r.text().await.unwrap();
        assert!(allowed.contains(&st), "{m} {path}: {st} {v}");
    }
    // The user's claims were not changed by the refused PATCH.
    let alice = s.state().store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(alice.claims["name"], "Alice Example");

    // The token endpoint: a username, a client_id.
    let (st, v) = s
        .post_form(
            "/token",
            Some(baton_testkit::WEB),
            &[
                ("grant_type", "password"),
                ("username", "al\0ice"),
                ("password", "alice-password"),
            ],
        )
        .await;
    assert_eq!(st.as_u16(), 400, "{v}");
    let (st, v) = s
        .post_form(
            "/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", "sp\0a")],
        )
        .await;
    assert!(matches!(st.as_u16(), 400 | 401), "{v}");

    // Registration metadata.
    let r = s
        .http
        .post(format!("{}/register", s.url))
        .json(&serde_json::json!({
            "redirect_uris": ["https://app.example/cb"],
            "client_name": "a\u{0}b",
        }))
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    assert!(
        st == 400 || st == 201,
        "register: {st} {}",
        r.text().await.unwrap()
    );

    // The login page.
    let p = baton_testkit::flow::AuthParams::new("web", "openid");
    let resp = baton_testkit::flow::authorize(&s, &p).await;
    let login = baton_testkit::flow::location(&resp).unwrap();
    let resp = baton_testkit::flow::login(&s, &login, "al\0ice", "alice-password").await;
    assert!(matches!(resp.status().as_u16(), 400 | 401));
    assert!(s.events("login.succeeded").await.is_empty());
}

/// A data exception the database raises on its own side (here a division by zero in a
/// trigger, as a broken computation or stored value would) is a server fault: 503 and
/// a warning in the log, not a 400 that blames the client. Only a character PostgreSQL
/// cannot store (a NUL byte) is the caller's bad input.
#[tokio::test]
async fn postgres_a_server_side_data_exception_is_not_a_client_error() {
    let schema = PgSchema::create().await;
    let s = TestServer::start_admin_with_storage(&schema.url, "").await;
    pg::execute(
        &schema.url,
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM 1 / 0; RETURN NEW; END $$; \
         CREATE TRIGGER boom BEFORE INSERT ON clients FOR EACH ROW EXECUTE FUNCTION boom();",
    )
    .await
    .unwrap();
    let r = s
        .http
        .post(format!("{}/admin/clients", s.url))
        .bearer_auth(baton_testkit::ADMIN_TOKEN)
        .json(
            &serde_json::json!({"client_id": "fine", "redirect_uris": ["https://app.example/cb"]}),
        )
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(st, 503, "{body}");
    assert!(!body.contains("invalid_request"), "{body}");
    assert!(s.state().store.get_client("fine").await.unwrap().is_none());
}
