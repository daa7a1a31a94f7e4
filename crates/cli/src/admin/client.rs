//! `baton client list|show|create|update|delete`.

use super::table::{fields, Table};
use super::{caller, json_object, open, print_json, yn, Common, Failure, Outcome};
use baton_proto::admin::{ClientCreate, ClientPatch, ClientView, ListQuery};
use baton_proto::settings::RefreshTokenSettings;
use baton_server::admin::ops;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum ClientCmd {
    /// List every client (read page by page), with who manages it: `config` (the
    /// configuration file: read-only here) or `api`.
    List,
    /// Show one client (never its secret).
    Show {
        /// The client's id.
        client_id: String,
    },
    /// Create a client. A confidential client's generated secret is printed once: store it.
    Create {
        /// The new client's id.
        client_id: String,
        #[command(flatten)]
        opts: ClientOpts,
        /// Create it disabled.
        #[arg(long)]
        inactive: bool,
    },
    /// Change a client: only the options given change. A client of the configuration
    /// file is read-only here: change it in the file.
    Update {
        /// The client's id.
        client_id: String,
        #[command(flatten)]
        opts: ClientOpts,
        /// Enable (true) or disable (false) the client.
        #[arg(long, value_name = "BOOL")]
        active: Option<bool>,
    },
    /// Give a client that authenticates with a secret a new one, printed this once;
    /// the old secret stops working at once, the client's grants stay.
    ResetSecret {
        /// The client's id.
        client_id: String,
    },
    /// Revoke a client's grants, forget its consents, then delete it (not one of the
    /// configuration file: remove that from the file).
    Delete {
        /// The client's id.
        client_id: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct ClientOpts {
    /// Name shown on consent and account pages.
    #[arg(long)]
    name: Option<String>,
    /// client_secret_basic (default), client_secret_post, private_key_jwt or none (public).
    #[arg(long, value_name = "METHOD")]
    auth_method: Option<String>,
    /// A redirect URI (repeat for several; on update, replaces the list).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// Back-channel logout URI.
    #[arg(long, value_name = "URI")]
    backchannel_logout_uri: Option<String>,
    /// A browser origin allowed to call the token endpoints (CORS), exactly
    /// `scheme://host[:port]` (repeat for several; on update, replaces the list).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// An allowed grant type (repeat): authorization_code, refresh_token,
    /// client_credentials, password. Default: authorization_code and refresh_token.
    #[arg(long = "grant-type", value_name = "GRANT")]
    grant_types: Vec<String>,
    /// Allowed scopes (repeat, or space-separated).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Access-token format: jwt or reference.
    #[arg(long, value_name = "FORMAT")]
    access_token_format: Option<String>,
    /// ID-token signing algorithm: RS256 (default), ES256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    id_token_alg: Option<String>,
    /// May introspect any token (a resource server).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    introspect_any: Option<bool>,
    /// Every token request must carry a DPoP proof (RFC 9449), so every access token
    /// is DPoP-bound.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    dpop_bound_access_tokens: Option<bool>,
    /// Public JWK Set for private_key_jwt, as JSON: '{"keys": [...]}'.
    #[arg(long, value_name = "JSON")]
    jwks: Option<String>,
    /// A resource (API identifier) the client may request with `resource` (repeat; on
    /// update, replaces the list). Each must exist (`baton resource create`).
    #[arg(long = "resource", value_name = "URI")]
    resources: Vec<String>,
    /// The resource a request naming none is for; one of its resources.
    #[arg(long, value_name = "URI")]
    default_resource: Option<String>,
    /// A resource whose access tokens this client (a resource server) may introspect
    /// (repeat; on update, replaces the list).
    #[arg(long = "introspect-resource", value_name = "URI")]
    introspect_resources: Vec<String>,
    /// A user claim released in ID tokens beyond the scope's, e.g. roles (repeat; on
    /// update, replaces the list).
    #[arg(long = "id-token-claim", value_name = "CLAIM")]
    id_token_claims: Vec<String>,
    /// A user claim released at userinfo beyond the scope's (repeat; on update,
    /// replaces the list).
    #[arg(long = "userinfo-claim", value_name = "CLAIM")]
    userinfo_claims: Vec<String>,
    /// A user claim the client's access tokens carry beyond the scope's (repeat; on
    /// update, replaces the list).
    #[arg(long = "access-token-claim", value_name = "CLAIM")]
    access_token_claims: Vec<String>,
    /// Per-client refresh-token settings (the keys of [clients.refresh_tokens]) as JSON, e.g. '{"usage": "one_time"}'.
    #[arg(long, value_name = "JSON")]
    refresh_tokens: Option<String>,
}

/// A repeated option as a PATCH value: given, it replaces the list; absent, it is left.
fn given(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

impl ClientOpts {
    fn scopes(&self) -> Option<Vec<String>> {
        (!self.scopes.is_empty()).then(|| {
            self.scopes
                .iter()
                .flat_map(|s| s.split(' '))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }
    fn jwks(&self) -> Result<Option<serde_json::Value>, Failure> {
        self.jwks
            .as_deref()
            .map(|j| json_object("--jwks", j).map(serde_json::Value::Object))
            .transpose()
    }
    fn refresh(&self) -> Result<Option<RefreshTokenSettings>, Failure> {
        self.refresh_tokens
            .as_deref()
            .map(|j| {
                let m = json_object("--refresh-tokens", j)?;
                serde_json::from_value(serde_json::Value::Object(m))
                    .map_err(|e| Failure::Usage(format!("--refresh-tokens: {e}")))
            })
            .transpose()
    }
}

pub async fn run(cmd: ClientCmd, c: &Common) -> Outcome {
    let st = open(c).await?;
    let r = exec(cmd, c, &st).await;
    st.store_close();
    r
}

async fn exec(cmd: ClientCmd, c: &Common, st: &baton_server::state::AppState) -> Outcome {
    match cmd {
        ClientCmd::List => {
            let mut cs = Vec::new();
            let mut cursor = None;
            loop {
                let q = ListQuery {
                    cursor,
                    limit: Some(ops::MAX_PAGE),
                };
                let page = ops::list_clients(st, q).await?;
                cs.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if c.json {
                return print_json(&cs);
            }
            let mut t = Table::new(&[
                "CLIENT_ID",
                "NAME",
                "AUTH_METHOD",
                "GRANT_TYPES",
                "ACTIVE",
                "MANAGED_BY",
            ]);
            for v in &cs {
                t.row(vec![
                    v.client_id.clone(),
                    v.client_name.clone().unwrap_or_default(),
                    v.token_endpoint_auth_method.clone(),
                    v.grant_types.join(","),
                    yn(v.active).into(),
                    v.managed_by.clone(),
                ]);
            }
            t.print();
            Ok(())
        }
        ClientCmd::Show { client_id } => show(&ops::get_client(st, &client_id).await?, c.json),
        ClientCmd::Create {
            client_id,
            opts,
            inactive,
        } => {
            let req = ClientCreate {
                client_id,
                client_name: opts.name.clone(),
                token_endpoint_auth_method: opts.auth_method.clone(),
                redirect_uris: opts.redirect_uris.clone(),
                post_logout_redirect_uris: opts.post_logout_redirect_uris.clone(),
                backchannel_logout_uri: opts.backchannel_logout_uri.clone(),
                allowed_origins: opts.allowed_origins.clone(),
                grant_types: (!opts.grant_types.is_empty()).then(|| opts.grant_types.clone()),
                scopes: opts.scopes(),
                access_token_format: opts.access_token_format.clone(),
                id_token_signed_response_alg: opts.id_token_alg.clone(),
                introspect_any: opts.introspect_any.unwrap_or(false),
                dpop_bound_access_tokens: opts.dpop_bound_access_tokens.unwrap_or(false),
                jwks: opts.jwks()?,
                active: Some(!inactive),
                resources: opts.resources.clone(),
                default_resource: opts.default_resource.clone(),
                introspect_resources: opts.introspect_resources.clone(),
                id_token_claims: opts.id_token_claims.clone(),
                userinfo_claims: opts.userinfo_claims.clone(),
                access_token_claims: opts.access_token_claims.clone(),
                refresh_tokens: opts.refresh()?.unwrap_or_default(),
            };
            show(&ops::create_client(st, req, &caller()).await?, c.json)
        }
        ClientCmd::Update {
            client_id,
            opts,
            active,
        } => {
            let p = ClientPatch {
                client_name: opts.name.clone().map(Some),
                token_endpoint_auth_method: opts.auth_method.clone(),
                redirect_uris: (!opts.redirect_uris.is_empty()).then(|| opts.redirect_uris.clone()),
                post_logout_redirect_uris: (!opts.post_logout_redirect_uris.is_empty())
                    .then(|| opts.post_logout_redirect_uris.clone()),
                backchannel_logout_uri: opts.backchannel_logout_uri.clone().map(Some),
                allowed_origins: (!opts.allowed_origins.is_empty())
                    .then(|| opts.allowed_origins.clone()),
                grant_types: (!opts.grant_types.is_empty()).then(|| opts.grant_types.clone()),
                scopes: opts.scopes(),
                access_token_format: opts.access_token_format.clone().map(Some),
                id_token_signed_response_alg: opts.id_token_alg.clone(),
                introspect_any: opts.introspect_any,
                dpop_bound_access_tokens: opts.dpop_bound_access_tokens,
                jwks: opts.jwks()?.map(Some),
                active,
                resources: given(&opts.resources),
                default_resource: opts.default_resource.clone().map(Some),
                introspect_resources: given(&opts.introspect_resources),
                id_token_claims: given(&opts.id_token_claims),
                userinfo_claims: given(&opts.userinfo_claims),
                access_token_claims: given(&opts.access_token_claims),
                refresh_tokens: opts.refresh()?,
            };
            if p == ClientPatch::default() {
                return Err(Failure::Usage(
                    "nothing to change: give at least one option (see `baton client update --help`)".into(),
                ));
            }
            show(
                &ops::patch_client(st, &client_id, p, &caller()).await?,
                c.json,
            )
        }
        ClientCmd::ResetSecret { client_id } => show(
            &ops::reset_client_secret(st, &client_id, &caller()).await?,
            c.json,
        ),
        ClientCmd::Delete { client_id } => {
            ops::delete_client(st, &client_id, &caller()).await?;
            if c.json {
                print_json(&serde_json::json!({"deleted": client_id}))
            } else {
                println!(
                    "deleted client {client_id} (its grants are revoked, its consents forgotten)"
                );
                Ok(())
            }
        }
    }
}

fn show(v: &ClientView, json: bool) -> Outcome {
    if json {
        return print_json(v);
    }
    let rt = serde_json::to_string(&v.refresh_tokens).unwrap_or_default();
    let mut f = vec![
        ("client_id", v.client_id.clone()),
        ("client_name", v.client_name.clone().unwrap_or_default()),
        ("auth_method", v.token_endpoint_auth_method.clone()),
        ("redirect_uris", v.redirect_uris.join(" ")),
        ("post_logout_uris", v.post_logout_redirect_uris.join(" ")),
        ("allowed_origins", v.allowed_origins.join(" ")),
        (
            "backchannel_uri",
            v.backchannel_logout_uri.clone().unwrap_or_default(),
        ),
        ("grant_types", v.grant_types.join(" ")),
        ("scopes", v.scopes.join(" ")),
        (
            "access_token_fmt",
            v.access_token_format
                .clone()
                .unwrap_or_else(|| "(server default)".into()),
        ),
        ("id_token_alg", v.id_token_signed_response_alg.clone()),
        ("introspect_any", yn(v.introspect_any).into()),
        ("dpop_bound", yn(v.dpop_bound_access_tokens).into()),
        ("resources", v.resources.join(" ")),
        (
            "default_resource",
            v.default_resource.clone().unwrap_or_default(),
        ),
        ("introspect_resources", v.introspect_resources.join(" ")),
        ("id_token_claims", v.id_token_claims.join(" ")),
        ("userinfo_claims", v.userinfo_claims.join(" ")),
        ("access_token_claims", v.access_token_claims.join(" ")),
        ("active", yn(v.active).into()),
        ("refresh_tokens", rt),
        ("created_at", v.created_at.clone()),
        ("managed_by", v.managed_by.clone()),
    ];
    if let Some(s) = &v.client_secret {
        f.push(("client_secret", format!("{s}   (shown once: store it now)")));
    }
    print!("{}", fields(&f));
    Ok(())
}
