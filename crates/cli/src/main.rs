//! The `baton` command: serve, migrate, check-config, health-check, the operator subcommands
//! (client, user, resource, grants, revoke, events, keys) in `admin/`, and seed-grants
//! (benchmarks at scale) in `seed.rs`.

mod admin;
mod health;
mod seed;

use admin::Common;
use baton_server::config::{self, Config, Sources};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a refresh allocates and frees many small
/// buffers across threads (the request's strings, SQLite's rows, the writer's replies),
/// where glibc's allocator spent about 10% of the server's CPU under load and mimalloc
/// spends about half that (BENCHMARKS.md).
///
/// mimalloc replaces `malloc` and `free` for the whole process (the `override`
/// build), and Rust allocates through them (the default `System` allocator): SQLite's
/// pages and rows come from mimalloc too, and a request for an alignment that every
/// block already has takes `malloc`'s fast path. (`mimalloc::MiMalloc` as the global
/// allocator asks for every block through mimalloc's aligned entry point, which takes
/// a slow path for most sizes that are not a power of two.)
use mimalloc as _;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton: an OAuth 2.0 / OpenID Connect server built around the refresh-token lifecycle",
    after_help = "Exit codes: 0 done; 1 not found; 2 bad arguments or configuration; \
3 store unavailable; 4 internal error."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (embedded SQLite at ./baton.db unless configured otherwise).
    Serve {
        /// Configuration file (default: ./baton.toml if present, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Seed a demo confidential client, public client and user, and print how to try them.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate a configuration file without starting.
    CheckConfig {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Exit 0 if GET URL answers 200, else 1: a health check for containers (plain HTTP).
    HealthCheck {
        /// What to check.
        #[arg(default_value = health::DEFAULT_URL)]
        url: String,
    },
    /// Manage clients in the configured store.
    Client {
        // Boxed: its options are by far the largest of any subcommand.
        #[command(subcommand)]
        cmd: Box<admin::client::ClientCmd>,
        #[command(flatten)]
        common: Common,
    },
    /// Manage users in the configured store.
    User {
        #[command(subcommand)]
        cmd: admin::user::UserCmd,
        #[command(flatten)]
        common: Common,
    },
    /// Manage resources (APIs that access tokens are issued for) in the configured store.
    Resource {
        #[command(subcommand)]
        cmd: admin::resource::ResourceCmd,
        #[command(flatten)]
        common: Common,
    },
    /// List grants (token families).
    Grants {
        #[command(subcommand)]
        cmd: admin::grants::GrantsCmd,
        #[command(flatten)]
        common: Common,
    },
    /// Revoke grants: of a client, of a subject, of both, or one grant.
    Revoke {
        #[command(flatten)]
        args: admin::grants::RevokeArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Read the event log, newest first.
    Events {
        #[command(flatten)]
        args: admin::events::EventsArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        cmd: admin::keys::KeysCmd,
        #[command(flatten)]
        common: Common,
    },
    /// For benchmarks: add many grants of one client and user straight into the store
    /// (no events) and write their refresh tokens to a file, one a line.
    SeedGrants {
        #[command(flatten)]
        args: seed::SeedArgs,
        #[command(flatten)]
        common: Common,
    },
}

/// Where configuration comes from: `file`, the environment, and the directory relative
/// paths resolve against.
fn sources(file: Option<&Path>) -> Result<Sources<'_>, String> {
    let base_dir = match file.and_then(|f| f.parent()) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    Ok(Sources {
        file,
        env: std::env::vars().collect(),
        base_dir,
    })
}

fn load(file: Option<&Path>, create_secret: bool) -> Result<Config, String> {
    config::load(&sources(file)?, create_secret).map_err(|e| e.to_string())
}

/// `baton check-config`: validates without starting, and before the first `serve` too
/// (a secret file that does not exist yet is a note); prints warnings and notes.
fn check_config(file: Option<&Path>) -> Result<(), String> {
    let cfg = config::check(&sources(file)?).map_err(|e| e.to_string())?;
    if let Some(files) = &cfg.http.tls {
        baton_server::tls::Certificates::load(files).map_err(|e| format!("{}: {e}", cfg.source))?;
    }
    for w in &cfg.warnings {
        eprintln!("warning: {w}");
    }
    for n in &cfg.notes {
        eprintln!("note: {n}");
    }
    println!(
        "{}: configuration is valid ({} clients, {} users)",
        cfg.source,
        cfg.clients.len(),
        cfg.users.len()
    );
    Ok(())
}

fn init_logging(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("BATON_LOG_FORMAT").is_ok_and(|v| v == "json");
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

async fn serve(file: Option<&Path>, demo: bool) -> Result<(), String> {
    let mut cfg = load(file, true)?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    let secret = if demo {
        cfg.demo = true;
        Some(baton_server::demo::seed(&mut cfg))
    } else {
        None
    };
    let listen = cfg.listen;
    let issuer = cfg.issuer.clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    #[cfg(unix)]
    let hup = catch_hangup();
    let state = baton_server::bootstrap::build(cfg, baton_server::clock::Clock::default()).await?;
    let running = baton_server::start(state, listener).map_err(|e| e.to_string())?;
    tracing::info!(
        addr = %running.addr,
        issuer = %issuer,
        tls = running.tls().is_some(),
        threads = running.state.cfg.http.threads,
        "baton is serving"
    );
    if let Some(s) = secret {
        println!("{}", baton_server::demo::instructions(&issuer, &s));
    }
    #[cfg(unix)]
    let reloads = reload_on_hangup(hup, &running);
    shutdown_signal().await;
    #[cfg(unix)]
    if let Some(task) = reloads {
        task.abort();
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// SIGHUP reloads the TLS certificate and key, like a change of their files does; when
/// not serving TLS it is logged and otherwise ignored (it does not stop the server).
/// The signal is caught from before the server starts serving.
#[cfg(unix)]
fn catch_hangup() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot catch SIGHUP: the TLS certificate reloads only when its files change");
            None
        }
    }
}

#[cfg(unix)]
fn reload_on_hangup(
    hup: Option<tokio::signal::unix::Signal>,
    running: &baton_server::Running,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut hup = hup?;
    let certs = running.tls().cloned();
    Some(tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match &certs {
                Some(c) => {
                    c.reload_and_log("SIGHUP");
                }
                None => tracing::info!("SIGHUP: not serving TLS, nothing to reload"),
            }
        }
    }))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::HealthCheck { url } = &cli.cmd {
        // One connection: a single-threaded runtime, no logging.
        let checked = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))
            .and_then(|rt| rt.block_on(health::check(url)));
        return match checked {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("baton: health check of {url} failed: {e}");
                ExitCode::from(1)
            }
        };
    }
    let operator = !matches!(
        cli.cmd,
        Cmd::Serve { .. } | Cmd::Migrate { .. } | Cmd::CheckConfig { .. }
    );
    // Operator commands print their results; only warnings go to the log.
    init_logging(if operator { "warn" } else { "info" });
    // `serve` runs its first request thread (and its background jobs) on this runtime
    // and starts the others itself (`http.threads`), each with a runtime of one thread:
    // a connection's requests never move between threads.
    let mut builder = if matches!(cli.cmd, Cmd::Serve { .. }) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("baton: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if operator {
        let r = rt.block_on(async {
            match cli.cmd {
                Cmd::Client { cmd, common } => admin::client::run(*cmd, &common).await,
                Cmd::User { cmd, common } => admin::user::run(cmd, &common).await,
                Cmd::Resource { cmd, common } => admin::resource::run(cmd, &common).await,
                Cmd::Grants { cmd, common } => admin::grants::list(cmd, &common).await,
                Cmd::Revoke { args, common } => admin::grants::revoke(args, &common).await,
                Cmd::Events { args, common } => admin::events::run(args, &common).await,
                Cmd::Keys { cmd, common } => admin::keys::run(cmd, &common).await,
                Cmd::SeedGrants { args, common } => seed::run(args, &common).await,
                _ => Ok(()),
            }
        });
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => {
                eprintln!("baton: {}", f.message());
                ExitCode::from(f.code())
            }
        };
    }
    let result = rt.block_on(async {
        match &cli.cmd {
            Cmd::Serve { config, demo } => serve(config.as_deref(), *demo).await,
            Cmd::Migrate { config } => {
                let cfg = load(config.as_deref(), false)?;
                let store = baton_server::bootstrap::open_store(&cfg).await?;
                store.close();
                println!("migrations applied; schema is current");
                Ok(())
            }
            Cmd::CheckConfig { config } => check_config(config.as_deref()),
            _ => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            ExitCode::from(2)
        }
    }
}
