//! `baton seed-grants` (benchmarks at scale): grants written straight into the store of a
//! running server, SQLite and PostgreSQL, refresh over HTTP like any other and their
//! chains go on; the token file is fixed width; the expired share is left for the
//! cleanup job, and seeding records no events.

use crate::cli::baton;
use baton_core::store::GrantFilter;
use baton_testkit::pg::PgSchema;
use baton_testkit::TestServer;
use reqwest::StatusCode;
use std::collections::HashSet;

const COUNT: usize = 500;
const EXPIRED: usize = 50; // --expired-percent 10

async fn seed_and_refresh(s: &TestServer) {
    let cfg = s.dir.path().join("baton.toml");
    let out = s.dir.path().join("tokens.txt");
    let out_arg = out.to_str().unwrap();
    let count = COUNT.to_string();
    let args = [
        "seed-grants",
        "--client",
        "web",
        "--username",
        "alice",
        "--count",
        &count,
        "--expired-percent",
        "10",
        "--out",
        out_arg,
        "--json",
    ];
    let r = baton(&cfg, &args, None).await.ok().json();
    assert_eq!(r["grants"], COUNT, "{r}");
    assert_eq!(r["live"], COUNT - EXPIRED, "{r}");
    assert_eq!(r["expired"], EXPIRED, "{r}");

    // One token a line, every line of the same width, each token once.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    let tokens: Vec<&str> = text.lines().collect();
    assert_eq!(tokens.len(), COUNT - EXPIRED);
    let width = tokens[0].len();
    assert_eq!(r["token_width"], width, "{r}");
    assert!(tokens
        .iter()
        .all(|t| t.len() == width && t.starts_with("brt_")));
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), tokens.len());

    // All of them are in the store, none with an event.
    let st = s.state();
    let stored = st
        .store
        .list_grants(Some(&GrantFilter::Client("web".into())), None, 1000)
        .await
        .unwrap();
    assert_eq!(stored.len(), COUNT);
    assert!(s.events("grant.created").await.is_empty());

    // Twenty random tokens: each refreshes, and its chain goes on from the answer.
    let mut picked = HashSet::new();
    while picked.len() < 20 {
        let r = u64::from_le_bytes(baton_core::random_bytes::<8>());
        picked.insert((r % tokens.len() as u64) as usize);
    }
    for i in picked {
        let (status, v) = s.refresh(tokens[i]).await;
        assert_eq!(status, StatusCode::OK, "token {i}: {v}");
        let next = v["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(next.len(), width, "a rotated token keeps the width");
        let (status, v) = s.refresh(&next).await;
        assert_eq!(status, StatusCode::OK, "token {i}, second link: {v}");
    }

    // The expired share is the cleanup job's to delete, and only it.
    let report = baton_server::cleanup::run(st, st.clock.now())
        .await
        .unwrap();
    assert_eq!(report.expired_grants, EXPIRED as u64, "{report:?}");
    let left = st
        .store
        .list_grants(Some(&GrantFilter::Client("web".into())), None, 1000)
        .await
        .unwrap();
    assert_eq!(left.len(), COUNT - EXPIRED);

    // An unknown client is refused, naming it, and writes nothing.
    let mut bad = args;
    bad[2] = "nope";
    bad[10] = "/nonexistent/never-written";
    baton(&cfg, &bad, None).await.fails(1, "no client nope");
}

#[tokio::test]
async fn seeded_grants_refresh_on_sqlite() {
    let s = TestServer::start("").await;
    seed_and_refresh(&s).await;
}

#[tokio::test]
async fn seeded_grants_refresh_on_postgres() {
    let pg = PgSchema::create().await;
    let s = TestServer::start_with_storage(&pg.url, "").await;
    seed_and_refresh(&s).await;
}
