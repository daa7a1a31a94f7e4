//! Every statement on the request path and in the cleanup job finds its rows through
//! an index (or the primary key), never by scanning a table: checked with SQLite's
//! `EXPLAIN QUERY PLAN` on a migrated database. (At millions of grants a scan per
//! request or per cleanup batch would stall the single writer.)

use super::SqliteStore;

/// The statements checked: the request path's reads and writes, then the cleanup's.
fn statements() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("request records".into(), super::records::sql().to_string()),
        (
            "grant by id".into(),
            format!("SELECT {} FROM grants WHERE id = ?1", super::grants::GRANT_COLS),
        ),
        (
            "advance".into(),
            "UPDATE grants SET generation = generation + 1, generation_started_at = ?3, last_used_at = ?3
             WHERE id = ?1 AND generation = ?2 AND revoked_at IS NULL"
                .into(),
        ),
        (
            "user by sub".into(),
            format!("SELECT {} FROM users WHERE sub = ?1", super::users::USER_COLS),
        ),
        (
            "revocation marker".into(),
            "SELECT marked_at, reason FROM revocation_markers WHERE scope IN (?1, ?2) \
             ORDER BY marked_at DESC LIMIT 1"
                .into(),
        ),
        ("purge grants".into(), super::maintenance::purge_grants_sql()),
        ("recheck idle grants".into(), super::maintenance::recheck_idle_sql()),
        ("purge sessions".into(), super::maintenance::PURGE_SESSIONS.into()),
        ("purge events".into(), super::maintenance::PURGE_EVENTS.into()),
        ("purge markers".into(), super::maintenance::PURGE_MARKERS.into()),
        ("purge outbox".into(), super::outbox::PURGE_OUTBOX.into()),
        ("events of a grant".into(), events_of_a_grant()),
    ];
    for (table, key) in super::maintenance::EXPIRING {
        v.push((
            format!("purge {table}"),
            super::maintenance::purge_expired_sql(table, key),
        ));
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

#[test]
fn no_statement_scans_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let path = path.to_str().unwrap();
    let store = SqliteStore::open(path).unwrap();
    drop(store);
    let c = rusqlite::Connection::open(path).unwrap();
    let mut scans = table_scans(&c);
    // Also the store named by `BATON_PLANS_SQLITE_PATH`, when it is set: one seeded at
    // scale (BENCHMARKS.md), with whatever statistics it has; `baton seed-grants` fills
    // only `grants`. E.g. `BATON_PLANS_SQLITE_PATH=/tmp/…/baton.db cargo test -p
    // baton-store sqlite::plans`.
    if let Ok(seeded) = std::env::var("BATON_PLANS_SQLITE_PATH") {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let c = rusqlite::Connection::open_with_flags(&seeded, flags).unwrap();
        scans.extend(table_scans(&c));
    }
    assert!(scans.is_empty(), "table scans:\n{}", scans.join("\n"));
}

/// The steps of [`statements`]' plans that scan a whole table.
fn table_scans(c: &rusqlite::Connection) -> Vec<String> {
    let mut scans = Vec::new();
    for (name, sql) in statements() {
        let mut st = c
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let n = st.parameter_count();
        let params: Vec<Option<i64>> = vec![None; n];
        let plan: Vec<String> = st
            .query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // "SCAN t" is a full scan of t; the records statement's one-row key subquery
        // ("SCAN k", "SCAN CONSTANT ROW") is not a table.
        for step in &plan {
            if step.starts_with("SCAN ") && step != "SCAN k" && step != "SCAN CONSTANT ROW" {
                scans.push(format!("{name}: {step} (plan: {plan:?})"));
            }
        }
    }
    scans
}

#[test]
fn a_refresh_writes_no_indexed_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot.db");
    let path = path.to_str().unwrap();
    drop(SqliteStore::open(path).unwrap());
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'grants' AND sql IS NOT NULL")
        .unwrap();
    let indexes: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        indexes.iter().any(|(n, _)| n == "grants_idle_check"),
        "{indexes:?}"
    );
    for (name, sql) in &indexes {
        for col in crate::codec::REFRESH_WRITES {
            assert!(
                !crate::codec::names_column(sql, col),
                "index {name} includes {col}: {sql}"
            );
        }
    }
    assert!(crate::codec::names_column(
        "ON grants (last_used_at + x)",
        "last_used_at"
    ));
    assert!(!crate::codec::names_column(
        "ON grants (generation_started_at)",
        "generation"
    ));
}
