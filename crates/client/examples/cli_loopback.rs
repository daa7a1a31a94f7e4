//! A CLI that signs a user in through the loopback redirect (RFC 8252) and keeps its
//! tokens in a file, refreshing them as needed.
//!
//! ```text
//! cargo run -p baton-client --example cli_loopback -- ISSUER CLIENT_ID login   # opens the browser
//! cargo run -p baton-client --example cli_loopback -- ISSUER CLIENT_ID token   # prints a fresh access token
//! cargo run -p baton-client --example cli_loopback -- ISSUER CLIENT_ID logout  # revokes and forgets
//! ```
//!
//! The client must be registered as public (`token_endpoint_auth_method = "none"`) with
//! the redirect URI `http://127.0.0.1:PORT/callback`; set `PORT` to that port (Baton
//! matches redirect URIs exactly; `0` picks a free one for servers that ignore the port).
//! Tokens are kept in `$BATON_CLIENT_DIR` (default `./.baton-client-tokens`). Set
//! `NO_BROWSER=1` to only print the URL.

use baton_client::{
    ClientAuth, FileStore, LoopbackSignIn, ManagerOptions, OAuthClient, TokenSet, UserTokenManager,
};
use std::time::Duration;

const KEY: &str = "default";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [issuer, client_id, command] = args.as_slice() else {
        return Err("usage: cli_loopback ISSUER CLIENT_ID login|token|logout".into());
    };
    let client = OAuthClient::discover(issuer, client_id, ClientAuth::None).await?;
    let dir = std::env::var("BATON_CLIENT_DIR").unwrap_or_else(|_| ".baton-client-tokens".into());
    let tokens = UserTokenManager::new(
        client.clone(),
        FileStore::new(dir)?,
        ManagerOptions::default(),
    );

    match command.as_str() {
        "login" => {
            let port = std::env::var("PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let signin = LoopbackSignIn::start(&client, "openid offline_access", port).await?;
            let url = signin.authorization_url().to_string();
            eprintln!("Opening {url}");
            // Best effort: the system browser (unless NO_BROWSER is set); otherwise the
            // user copies the URL.
            if std::env::var_os("NO_BROWSER").is_none() {
                let opener = if cfg!(target_os = "macos") {
                    "open"
                } else {
                    "xdg-open"
                };
                let _ = std::process::Command::new(opener).arg(&url).spawn();
            }
            let response = signin.finish(&client, Duration::from_secs(300)).await?;
            tokens
                .set_tokens(KEY, TokenSet::from_response(response))
                .await?;
            eprintln!("Signed in.");
        }
        "token" => match tokens.access_token(KEY).await {
            Ok(at) => println!("{}", at.token),
            Err(e) if e.is_sign_in_required() => {
                return Err("not signed in (or the session ended): run `login`".into())
            }
            Err(e) => return Err(e.into()),
        },
        "logout" => {
            tokens.sign_out(KEY).await?;
            eprintln!("Signed out.");
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}
