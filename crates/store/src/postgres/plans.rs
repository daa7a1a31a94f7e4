//! Every statement on the request path and in the cleanup job can find its rows
//! through an index (or the primary key): checked with `EXPLAIN` on a migrated schema
//! with sequential scans priced out (`enable_seqscan = off`: the planner still picks
//! one when no index can serve the statement, so a `Seq Scan` in the plan means no
//! index can). The test database is `BATON_TEST_POSTGRES_URL`, else the machine's.

use super::PgStore;
use tokio_postgres::NoTls;

/// The statements checked, with `$n` parameters to replace by literals.
fn statements() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("request records".into(), super::records::sql().to_string()),
        (
            "grant by id".into(),
            format!("SELECT {} FROM grants WHERE id = $2", super::grants::GRANT_COLS),
        ),
        (
            "advance".into(),
            "UPDATE grants SET generation = generation + 1, generation_started_at = $3, last_used_at = $3
             WHERE id = $2 AND generation = $3 AND revoked_at IS NULL"
                .into(),
        ),
        (
            "user by sub".into(),
            format!("SELECT {} FROM users WHERE sub = $1", super::users::USER_COLS),
        ),
        ("purge grants".into(), super::maintenance::purge_grants_sql()),
        ("purge: recheck idle grants".into(), super::maintenance::recheck_idle_sql()),
        ("purge sessions".into(), super::maintenance::PURGE_SESSIONS.into()),
        ("purge events".into(), super::maintenance::PURGE_EVENTS.into()),
        ("purge markers".into(), super::maintenance::PURGE_MARKERS.into()),
        ("purge outbox".into(), super::outbox::PURGE_OUTBOX.into()),
        ("events of a grant".into(), events_of_a_grant()),
    ];
    for (i, sql) in super::maintenance::PURGE_EXPIRED.iter().enumerate() {
        v.push((format!("purge expired {i}"), sql.to_string()));
    }
    v
}

/// The console's grant timeline: one grant's events, newest first.
fn events_of_a_grant() -> String {
    super::events::list_sql(&baton_core::store::EventQuery {
        grant_id: Some(baton_core::model::GrantId([7; 16])),
        limit: 100,
        ..Default::default()
    })
    .0
}

/// Literals of each statement's parameter types: a client id or username, a grant id,
/// a number; for the cleanup a cutoff, a batch size (an event id for the events).
fn literal(sql: &str, name: &str) -> String {
    let (one, two) = if name == "purge events" || name == "events of a grant" {
        ("'evt_000000000000'", "10")
    } else if name == "request records" {
        ("'web'", "'\\x00'::bytea")
    } else if name.starts_with("purge") {
        ("0", "10")
    } else {
        ("'x'", "'\\x00'::bytea")
    };
    sql.replace("$1", one).replace("$2", two).replace("$3", "0")
}

/// A plan reads a whole table that `counts`: a `Seq Scan`, or an index scan without an
/// `Index Cond` (the whole index walked, rows filtered one by one).
fn scans_a_table(plan: &[String], counts: fn(&str) -> bool) -> bool {
    plan.iter().enumerate().any(|(i, line)| {
        if !counts(line) {
            return false;
        }
        if line.contains("Seq Scan") {
            return true;
        }
        let index_scan = line.contains("Index Scan") || line.contains("Index Only Scan");
        // The node's own detail lines run until the next node (`->`).
        index_scan
            && !plan[i + 1..]
                .iter()
                .take_while(|l| !l.contains("->"))
                .any(|l| l.contains("Index Cond"))
    })
}

/// The plans of [`statements`] that read a whole table that `counts` (given the plan
/// node's line), as the planner of `c`'s session chooses them.
async fn table_scans(c: &tokio_postgres::Client, counts: fn(&str) -> bool) -> Vec<String> {
    let mut seq = Vec::new();
    for (name, sql) in statements() {
        let rows = c
            .query(&format!("EXPLAIN {}", literal(&sql, &name)), &[])
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let plan: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        if scans_a_table(&plan, counts) {
            seq.push(format!("{name}:\n{}", plan.join("\n")));
        }
    }
    seq
}

/// The plans that scan `grants` in the store at `url`, as its own planner and statistics
/// choose (sequential scans not priced out): a store seeded at scale (BENCHMARKS.md;
/// `baton seed-grants` fills only `grants`, and a table of a few rows is rightly scanned).
async fn grant_scans_of(url: &str) -> Vec<String> {
    let (c, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    tokio::spawn(conn);
    table_scans(&c, |line| crate::codec::names_column(line, "grants")).await
}

/// Also checks the store named by `BATON_PLANS_POSTGRES_URL` when it is set (a storage
/// URL whose search path is a seeded schema), e.g. at ten million grants:
/// `BATON_PLANS_POSTGRES_URL='postgres://…?options=-csearch_path%3Dscale' cargo test -p
/// baton-store postgres::plans`.
#[test]
fn no_statement_needs_a_sequential_scan() {
    let base = std::env::var("BATON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let schema = format!("plans_{}", baton_core::secret::hex(&baton_core::random_bytes::<6>()));
        let (admin, conn) = tokio_postgres::connect(&base, NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL tests need a database: {e}"));
        tokio::spawn(conn);
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        let store = PgStore::open(&url, 2).await.unwrap();
        store.close();
        // Plans of empty tables are no guide: thousands of rows (a few grants revoked or
        // expired, a few sessions ended, as in a real store), with statistics.
        admin
            .batch_execute(&format!(
                "SET search_path = {schema};
                 INSERT INTO grants (id, client_id, subject, scope, online, auth_time, created_at,
                   expires_at, sliding_ms, last_used_at, generation, generation_started_at,
                   rotate, grace_ms, update_claims, revoked_at, revoked_reason, idle_check_at)
                 SELECT decode(md5(i::text), 'hex'), 'web', 's' || (i % 500), 'openid', false,
                   i, i, 1000000000 + i, 86400000, 1000000000 + i, 1, i, true, 0, true,
                   CASE WHEN i % 100 = 0 THEN i END, CASE WHEN i % 100 = 0 THEN 'test' END,
                   1086400000 + i
                 FROM generate_series(1, 20000) AS i;
                 INSERT INTO users (sub, username, password_hash, active, claims, created_at)
                 SELECT 's' || i, 'user' || i, 'x', true, '{{}}', i FROM generate_series(0, 499) AS i;
                 INSERT INTO clients (client_id, data, created_at)
                 SELECT 'c' || i, '{{}}', i FROM generate_series(1, 200) AS i;
                 INSERT INTO sessions (id, subject, auth_time, created_at, last_seen_at, expires_at, ended_at)
                 SELECT 'sid' || i, 's' || (i % 500), i, i, i, 1000000000 + i,
                   CASE WHEN i % 50 = 0 THEN i END FROM generate_series(1, 5000) AS i;
                 INSERT INTO session_clients (session_id, client_id)
                 SELECT 'sid' || i, 'web' FROM generate_series(1, 5000) AS i;
                 INSERT INTO events (id, \"type\", \"time\", details)
                 SELECT 'evt_' || lpad(to_hex(1000000 + i), 12, '0'), 'grant.created', i, '{{}}'
                 FROM generate_series(1, 5000) AS i;
                 INSERT INTO revocation_markers (scope, marked_at, reason)
                 SELECT 'client:c' || i, 1000000000 + i, 'test' FROM generate_series(1, 5000) AS i;
                 INSERT INTO codes (digest, data, expires_at)
                 SELECT decode(md5('c' || i), 'hex'), '{{}}', 1000000000 + i FROM generate_series(1, 5000) AS i;
                 INSERT INTO revoked_jtis (jti, expires_at)
                 SELECT 'j' || i, 1000000000 + i FROM generate_series(1, 5000) AS i;
                 INSERT INTO reference_tokens (digest, data, expires_at)
                 SELECT decode(md5('r' || i), 'hex'), '{{}}', 1000000000 + i FROM generate_series(1, 5000) AS i;
                 INSERT INTO outbox (kind, target, payload, created_at, due_at, done_at)
                 SELECT 'webhook', 't', 'p', i, i, CASE WHEN i % 2 = 0 THEN 1000000000 + i END
                 FROM generate_series(1, 5000) AS i;
                 ANALYZE;
                 SET enable_seqscan = off"
            ))
            .await
            .unwrap();
        let seq = table_scans(&admin, |_| true).await;
        // A rotation can be a HOT update (no index entry written) only if no index of
        // the table includes a column it changes.
        let defs: Vec<String> = admin
            .query(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'grants'::regclass",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
        assert!(seq.is_empty(), "sequential scans:\n{}", seq.join("\n\n"));
        if let Ok(seeded) = std::env::var("BATON_PLANS_POSTGRES_URL") {
            let seq = grant_scans_of(&seeded).await;
            assert!(seq.is_empty(), "sequential scans on {seeded}:\n{}", seq.join("\n\n"));
        }
        assert!(defs.iter().any(|d| d.contains("grants_idle_check")), "{defs:?}");
        for def in &defs {
            for col in crate::codec::REFRESH_WRITES {
                assert!(
                    !crate::codec::names_column(def, col),
                    "a refresh writes {col}, which this index includes: {def}"
                );
            }
        }
    });
}
