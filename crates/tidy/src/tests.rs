//! One test per rule. Each rule is a function from source text to the lines that break
//! it, so the rule itself is tested on small examples before it is run over the tree.

use std::fs;
use std::path::{Path, PathBuf};

/// Longest a file in `src/` may grow before its test module starts.
const MAX_LINES: usize = 800;

/// Crates that do I/O or own a runtime: `core` (and whatever it depends on inside the
/// workspace) may depend on none of them.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-util",
    "tokio-postgres",
    "tokio-rustls",
    "postgres",
    "rusqlite",
    "redis",
    "sqlx",
    "axum",
    "tower",
    "hyper",
    "hyper-util",
    "h2",
    "reqwest",
    "rustls",
    "native-tls",
    "mio",
    "socket2",
    "async-std",
    "smol",
];

/// What `core` must not reach for in its source, whatever its dependencies.
const IO_PATHS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::env",
    "SystemTime::now",
    "Instant::now",
];

/// The server's HTTP modules (paths under `crates/server/src`; a trailing `/` is a
/// directory). Everything else in the server crate is the service layer, which imports
/// nothing from `http/`.
const HTTP_MODULES: &[&str] = &[
    "http/",
    "pages/",
    "console/",
    "lib.rs",
    "admin/mod.rs",
    "admin/clients.rs",
    "admin/users.rs",
    "admin/resources.rs",
    "admin/grants.rs",
    "admin/keys.rs",
    "admin/events.rs",
    "admin/views.rs",
];

/// The one file that maps errors to 4xx/5xx statuses.
const STATUS_FILE: &str = "http/error.rs";

/// Status constants a handler may name itself: success, redirection, not-modified.
const NON_ERROR_STATUSES: &[&str] = &[
    "CONTINUE",
    "SWITCHING_PROTOCOLS",
    "OK",
    "CREATED",
    "ACCEPTED",
    "NO_CONTENT",
    "MOVED_PERMANENTLY",
    "FOUND",
    "SEE_OTHER",
    "NOT_MODIFIED",
    "TEMPORARY_REDIRECT",
    "PERMANENT_REDIRECT",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|e| fail(&format!("the workspace root cannot be found: {e}")))
}

#[allow(clippy::panic)]
fn fail(msg: &str) -> ! {
    panic!("{msg}")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())))
}

/// Every `.rs` file under `dir`, sorted, as (path relative to `dir`, text).
fn rust_files(dir: &Path) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let entries = fs::read_dir(dir)
            .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", dir.display())));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let rel = path
                    .strip_prefix(base)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                out.push((rel, read(&path)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The lines of `text` before its test module (`#[cfg(test)]` at the start of a line),
/// numbered from 1, without comment lines.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| !l.trim_start().starts_with("#[cfg(test)]"))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

// ---- the rules, as functions -------------------------------------------------------

/// The lines of `text` with SQL that changes the `clients` or `users` table.
fn record_changes(text: &str) -> Vec<usize> {
    const CHANGES: &[&str] = &[
        "INSERT INTO CLIENTS",
        "INSERT INTO USERS",
        "UPDATE CLIENTS",
        "UPDATE USERS",
        "DELETE FROM CLIENTS",
        "DELETE FROM USERS",
        "REPLACE INTO CLIENTS",
        "REPLACE INTO USERS",
    ];
    code_lines(text)
        .filter(|(_, l)| {
            let l = l.to_uppercase();
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            CHANGES.iter().any(|c| l.contains(c))
        })
        .map(|(n, _)| n)
        .collect()
}

/// The dependency names in a Cargo.toml's `[dependencies]` table, with their `path`
/// when they are workspace crates.
fn dependencies(manifest: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, rest)) = line.split_once('=') else {
            continue;
        };
        let path = rest.split_once("path").and_then(|(_, p)| {
            let p = p
                .trim_start()
                .strip_prefix('=')?
                .trim_start()
                .strip_prefix('"')?;
            Some(p.split('"').next()?.to_string())
        });
        out.push((name.trim().trim_matches('"').to_string(), path));
    }
    out
}

/// `StatusCode::X` for an error status X, or `StatusCode::from_u16`, in `text`'s code.
fn error_statuses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code_lines(text) {
        let mut rest = line;
        while let Some(at) = rest.find("StatusCode::") {
            // comparing a status someone else chose (`== StatusCode::X`) chooses nothing
            let before = rest[..at].trim_end();
            let compared = before.ends_with("==") || before.ends_with("!=");
            rest = &rest[at + "StatusCode::".len()..];
            if compared {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let is_const = name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            if (is_const && !name.is_empty() && !NON_ERROR_STATUSES.contains(&name.as_str()))
                || name == "from_u16"
            {
                out.push((n, name));
            }
        }
    }
    out
}

/// How many lines come before the test module, when that is more than `MAX_LINES`.
fn too_long(text: &str) -> Option<usize> {
    let before = text
        .lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .count();
    (before > MAX_LINES).then_some(before)
}

/// Lines of `text` that reach into the server's `http` module.
fn http_imports(text: &str) -> Vec<usize> {
    code_lines(text)
        .filter(|(_, l)| {
            l.contains("crate::http")
                || l.contains("super::http")
                || l.contains("super::super::http")
        })
        .map(|(n, _)| n)
        .collect()
}

fn is_http_module(rel: &str) -> bool {
    HTTP_MODULES.iter().any(|m| {
        if m.ends_with('/') {
            rel.starts_with(m)
        } else {
            rel == *m
        }
    })
}

// ---- the rules, over the tree ------------------------------------------------------

#[test]
fn core_depends_on_no_io_crate() {
    let root = root();
    let mut broken = Vec::new();
    // core, then every workspace crate it depends on by path (proto, ...)
    let mut todo = vec![root.join("crates/core")];
    let mut seen = Vec::new();
    while let Some(dir) = todo.pop() {
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir.clone());
        let manifest = dir.join("Cargo.toml");
        for (name, path) in dependencies(&read(&manifest)) {
            if IO_CRATES.contains(&name.as_str()) {
                broken.push(format!("{}: depends on {name}", manifest.display()));
            }
            if let Some(p) = path {
                todo.push(dir.join(p));
            }
        }
        for (rel, text) in rust_files(&dir.join("src")) {
            for (n, line) in code_lines(&text) {
                for io in IO_PATHS {
                    if line.contains(io) {
                        broken.push(format!("{}/src/{rel}:{n}: uses {io}", dir.display()));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "core performs no I/O and reads no clock (ARCHITECTURE.md, Invariants):\n{}",
        broken.join("\n")
    );
}

/// The SQLite store keeps clients and users in memory and forgets them after a write
/// made with `write_records` (`crates/store/src/sqlite/known.rs`): a change to either
/// table anywhere else, or made with plain `write`, would leave a stale record in use.
#[test]
fn sqlite_changes_clients_and_users_only_through_write_records() {
    let src = root().join("crates/store/src/sqlite");
    let mut broken = Vec::new();
    for (rel, text) in rust_files(&src) {
        if rel == "tests.rs" || rel == "plans.rs" || rel == "migrate.rs" {
            continue;
        }
        let owner = rel == "clients.rs" || rel == "users.rs";
        for n in record_changes(&text) {
            if !owner {
                broken.push(format!(
                    "crates/store/src/sqlite/{rel}:{n}: changes clients or users"
                ));
            }
        }
        if owner {
            for (n, l) in code_lines(&text) {
                if l.contains("self.write(") {
                    broken.push(format!("crates/store/src/sqlite/{rel}:{n}: plain write"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "clients and users are changed only in clients.rs and users.rs, with write_records:\n{}",
        broken.join("\n")
    );
}

#[test]
fn record_changes_are_found_in_any_case_and_spacing() {
    let text = "c.execute(\"update  users SET active = 0\")\nSELECT 1 FROM users\n// DELETE FROM clients\nDELETE\tFROM clients WHERE x";
    assert_eq!(record_changes(text), vec![1, 4]);
}

#[test]
fn only_http_error_rs_chooses_an_error_status() {
    let src = root().join("crates/server/src");
    let mut broken = Vec::new();
    for (rel, text) in rust_files(&src) {
        if rel == STATUS_FILE || rel.ends_with("tests.rs") {
            continue;
        }
        for (n, name) in error_statuses(&text) {
            broken.push(format!("crates/server/src/{rel}:{n}: StatusCode::{name}"));
        }
    }
    assert!(
        broken.is_empty(),
        "only crates/server/src/{STATUS_FILE} turns errors into 4xx/5xx statuses; return an \
         error instead:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_source_file_passes_800_lines_before_its_tests() {
    let crates = root().join("crates");
    let mut broken = Vec::new();
    let dirs = fs::read_dir(&crates)
        .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", crates.display())));
    for krate in dirs.flatten() {
        let src = krate.path().join("src");
        if !src.is_dir() {
            continue;
        }
        for (rel, text) in rust_files(&src) {
            // a file that is itself a test module
            if rel == "tests.rs" || rel.ends_with("/tests.rs") || rel.starts_with("tests/") {
                continue;
            }
            if let Some(n) = too_long(&text) {
                broken.push(format!("{}/{rel}: {n} lines", src.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "a file in src/ stays under {MAX_LINES} lines before its test module; split it by \
         what it owns:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_service_layer_imports_nothing_from_http() {
    let src = root().join("crates/server/src");
    let files = rust_files(&src);
    // every module named as HTTP exists, so a rename cannot widen the exemption unseen
    for m in HTTP_MODULES {
        assert!(
            files
                .iter()
                .any(|(rel, _)| is_http_module(rel) && rel.starts_with(m)),
            "HTTP_MODULES names {m}, which is not in crates/server/src"
        );
    }
    let mut broken = Vec::new();
    for (rel, text) in &files {
        if is_http_module(rel) {
            continue;
        }
        for n in http_imports(text) {
            broken.push(format!("crates/server/src/{rel}:{n}"));
        }
    }
    assert!(
        broken.is_empty(),
        "the service layer (crates/server/src outside {HTTP_MODULES:?}) takes typed requests \
         and returns service errors; it imports nothing from http/:\n{}",
        broken.join("\n")
    );
}

// ---- the rules, on examples --------------------------------------------------------

#[test]
fn dependencies_are_read_from_the_dependencies_table_only() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\ntokio = { version = \"1\" }\n\
                    baton-proto = { version = \"0.1.0\", path = \"../proto\" }\n# axum = \"1\"\n\
                    \n[dev-dependencies]\nreqwest = \"1\"\n";
    assert_eq!(
        dependencies(manifest),
        vec![
            ("tokio".to_string(), None),
            ("baton-proto".to_string(), Some("../proto".to_string())),
        ]
    );
}

#[test]
fn error_statuses_are_found_and_success_statuses_are_not() {
    let text = "let a = StatusCode::OK;\nlet b = (StatusCode::BAD_REQUEST, x);\n\
                // StatusCode::NOT_FOUND in a comment\nlet c = StatusCode::from_u16(503);\n\
                let d = StatusCode::SEE_OTHER; let e = StatusCode::TOO_MANY_REQUESTS;\n\
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {}\n\
                #[cfg(test)]\nlet f = StatusCode::CONFLICT;\n";
    assert_eq!(
        error_statuses(text),
        vec![
            (2, "BAD_REQUEST".to_string()),
            (4, "from_u16".to_string()),
            (5, "TOO_MANY_REQUESTS".to_string()),
        ]
    );
}

#[test]
fn length_counts_up_to_the_test_module() {
    let long = "x\n".repeat(MAX_LINES + 1);
    assert_eq!(too_long(&long), Some(MAX_LINES + 1));
    let short_with_tests = format!("{}#[cfg(test)]\n{}", "x\n".repeat(MAX_LINES), long);
    assert_eq!(too_long(&short_with_tests), None);
}

#[test]
fn http_imports_are_found_outside_comments_and_tests() {
    let text = "use crate::http::Meta;\n// crate::http in prose\nuse crate::grants;\n\
                fn f() { super::http::x() }\n#[cfg(test)]\nuse crate::http::y;\n";
    assert_eq!(http_imports(text), vec![1, 4]);
    assert!(is_http_module("http/error.rs"));
    assert!(is_http_module("admin/clients.rs"));
    assert!(!is_http_module("admin/ops.rs"));
    assert!(!is_http_module("grants/mod.rs"));
}
