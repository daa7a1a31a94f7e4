//! A service calling an API with a client-credentials token, cached and renewed ahead of
//! expiry, retried once on `401 invalid_token`.
//!
//! ```text
//! ISSUER=http://127.0.0.1:8080 CLIENT_ID=reports CLIENT_SECRET=... SCOPE=api \
//! API_URL=http://127.0.0.1:9000/reports cargo run -p baton-client --example service_client_credentials
//! ```

use baton_client::{
    AuthorizedClient, ClientAuth, ClientCredentialsManager, ClientTokens, ManagerOptions,
    OAuthClient,
};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = env("ISSUER")?;
    let client = OAuthClient::discover(
        &issuer,
        &env("CLIENT_ID")?,
        ClientAuth::SecretBasic(env("CLIENT_SECRET")?),
    )
    .await?;
    let tokens = ClientCredentialsManager::new(client, ManagerOptions::default());
    let api = AuthorizedClient::new(
        baton_client::default_http_client()?,
        ClientTokens {
            manager: tokens,
            scope: std::env::var("SCOPE").ok(),
        },
    );
    let url = env("API_URL")?;
    // Every call reuses the cached token until 60 s before it expires.
    for _ in 0..3 {
        let resp = api.send(api.http().get(&url)).await?;
        println!("GET {url}: {}", resp.status());
    }
    Ok(())
}
