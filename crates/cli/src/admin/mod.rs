//! The operator subcommands (`client`, `user`, `resource`, `grants`, `revoke`, `events`,
//! `keys`): each opens the configured store directly (no HTTP, no running server
//! needed) and calls the same operations as the admin API (`baton_server::admin::ops`).
//!
//! Exit codes scripts can rely on (docs/operations.md):
//! 0 done; 1 not found; 2 bad arguments or configuration (also: the id is taken);
//! 3 store unavailable; 4 internal error.

pub mod client;
pub mod events;
pub mod grants;
pub mod keys;
pub mod resource;
pub mod table;
pub mod user;

use baton_server::admin::ops::AdminError;
use baton_server::caller::Caller;
use baton_server::state::Shared;
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

/// Options every operator subcommand takes.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// Configuration file (default: ./baton.toml if present, else built-in defaults).
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Why a subcommand failed, and its exit code.
#[derive(Debug)]
pub enum Failure {
    /// 1
    NotFound(String),
    /// 2
    Usage(String),
    /// 3
    Unavailable(String),
    /// 4
    Internal(String),
}

impl Failure {
    pub fn code(&self) -> u8 {
        match self {
            Failure::NotFound(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Unavailable(_) => 3,
            Failure::Internal(_) => 4,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Failure::NotFound(m)
            | Failure::Usage(m)
            | Failure::Unavailable(m)
            | Failure::Internal(m) => m,
        }
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(m) => Failure::NotFound(m),
            AdminError::Invalid { .. } | AdminError::Conflict(_) => Failure::Usage(e.to_string()),
            AdminError::Store(s) => Failure::Unavailable(format!("the store failed: {s}")),
            AdminError::Internal(m) => Failure::Internal(m),
        }
    }
}

pub type Outcome = Result<(), Failure>;

/// Who made a change, for events.
pub fn caller() -> Caller {
    Caller {
        ip: None,
        user_agent: Some(format!("baton-cli/{}", env!("CARGO_PKG_VERSION"))),
        actor: None,
    }
}

/// Loads the configuration and opens the store (migrating it), as `serve` would.
pub async fn open(c: &Common) -> Result<Shared, Failure> {
    let cfg = crate::load(c.config.as_deref(), false).map_err(Failure::Usage)?;
    baton_server::bootstrap::build(cfg, baton_server::clock::Clock::default())
        .await
        .map_err(|e| Failure::Unavailable(format!("cannot open the store: {e}")))
}

/// Prints a value as pretty JSON.
pub fn print_json<T: serde::Serialize>(v: &T) -> Outcome {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::Internal(e.to_string()))?;
    println!("{s}");
    Ok(())
}

/// Reads a password from standard input: its first line, without the line ending.
pub fn password_from_stdin() -> Result<String, Failure> {
    let mut s = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut s)
        .map_err(|e| {
            Failure::Usage(format!("cannot read the password from standard input: {e}"))
        })?;
    let line = s.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        return Err(Failure::Usage(
            "--password-stdin: standard input held no password".into(),
        ));
    }
    Ok(line)
}

/// Parses a JSON object given on the command line, naming the option when it is not one.
pub fn json_object(
    opt: &str,
    s: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(Failure::Usage(format!("{opt}: must be a JSON object"))),
        Err(e) => Err(Failure::Usage(format!("{opt}: is not JSON: {e}"))),
    }
}

/// `yes`/`no` for tables.
pub fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
