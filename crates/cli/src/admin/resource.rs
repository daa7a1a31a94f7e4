//! `baton resource list|show|create|update|delete`: the resources (APIs) access tokens
//! can be issued for.

use super::table::{fields, Table};
use super::{caller, open, print_json, yn, Common, Failure, Outcome};
use baton_proto::admin::{ListQuery, ResourceCreate, ResourcePatch, ResourceView};
use baton_server::admin::ops;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;

#[derive(Subcommand, Debug)]
pub enum ResourceCmd {
    /// List every resource (read page by page), with the clients that may request it
    /// and who manages it: `config` (the configuration file: read-only here) or `api`.
    List,
    /// Show one resource.
    Show {
        /// The resource's identifier (an absolute URI: its access tokens' `aud`).
        identifier: String,
    },
    /// Create a resource.
    Create {
        /// The new resource's identifier: an absolute URI without a fragment.
        identifier: String,
        #[command(flatten)]
        opts: ResourceOpts,
        /// Create it disabled (it cannot be requested until enabled).
        #[arg(long)]
        inactive: bool,
    },
    /// Change a resource: only the options given change. A resource of the
    /// configuration file is read-only here: change it in the file.
    Update {
        /// The resource's identifier.
        identifier: String,
        #[command(flatten)]
        opts: ResourceOpts,
        /// Enable (true) or disable (false) the resource.
        #[arg(long, value_name = "BOOL")]
        active: Option<bool>,
    },
    /// Delete a resource no client names (grants that hold it keep it, but it can no
    /// longer be requested). Not one of the configuration file: remove that from the file.
    Delete {
        /// The resource's identifier.
        identifier: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct ResourceOpts {
    /// Name shown on the consent page (default: the identifier).
    #[arg(long)]
    name: Option<String>,
    /// A scope the resource defines (repeat, or space-separated; on update, replaces
    /// the list).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Plain words for one of its scopes on the consent page, as SCOPE=WORDS (repeat;
    /// on update, replaces every description).
    #[arg(long = "scope-description", value_name = "SCOPE=WORDS")]
    scope_descriptions: Vec<String>,
    /// A user claim its access tokens carry, e.g. roles, groups, department (repeat;
    /// on update, replaces the list).
    #[arg(long = "claim", value_name = "CLAIM")]
    claims: Vec<String>,
    /// Access-token format: jwt or reference (default: the client's, else the server's).
    #[arg(long, value_name = "FORMAT")]
    access_token_format: Option<String>,
    /// Access-token lifetime, e.g. 5m (default: the server's).
    #[arg(long, value_name = "DURATION")]
    access_token_lifetime: Option<String>,
    /// Signing algorithm of its JWT access tokens: ES256, RS256 or EdDSA (default: the
    /// server's).
    #[arg(long, value_name = "ALG")]
    signing_alg: Option<String>,
}

impl ResourceOpts {
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
    fn descriptions(&self) -> Result<Option<BTreeMap<String, String>>, Failure> {
        if self.scope_descriptions.is_empty() {
            return Ok(None);
        }
        let mut m = BTreeMap::new();
        for d in &self.scope_descriptions {
            let Some((scope, words)) = d.split_once('=') else {
                return Err(Failure::Usage(format!(
                    "--scope-description: `{d}` is not SCOPE=WORDS"
                )));
            };
            m.insert(scope.trim().to_string(), words.trim().to_string());
        }
        Ok(Some(m))
    }
    fn claims(&self) -> Option<Vec<String>> {
        (!self.claims.is_empty()).then(|| self.claims.clone())
    }
}

pub async fn run(cmd: ResourceCmd, c: &Common) -> Outcome {
    // Validate what needs no store first, so that bad arguments never wait on it.
    if let ResourceCmd::Create { opts, .. } | ResourceCmd::Update { opts, .. } = &cmd {
        opts.descriptions()?;
    }
    let st = open(c).await?;
    let r = exec(cmd, c, &st).await;
    st.store_close();
    r
}

async fn exec(cmd: ResourceCmd, c: &Common, st: &baton_server::state::AppState) -> Outcome {
    match cmd {
        ResourceCmd::List => {
            let mut rs = Vec::new();
            let mut cursor = None;
            loop {
                let q = ListQuery {
                    cursor,
                    limit: Some(ops::MAX_PAGE),
                };
                let page = ops::list_resources(st, q).await?;
                rs.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if c.json {
                return print_json(&rs);
            }
            let mut t = Table::new(&[
                "IDENTIFIER",
                "NAME",
                "SCOPES",
                "CLIENTS",
                "ACTIVE",
                "MANAGED_BY",
            ]);
            for v in &rs {
                t.row(vec![
                    v.identifier.clone(),
                    v.name.clone().unwrap_or_default(),
                    v.scopes.join(","),
                    v.clients.join(","),
                    yn(v.active).into(),
                    v.managed_by.clone(),
                ]);
            }
            t.print();
            Ok(())
        }
        ResourceCmd::Show { identifier } => {
            show(&ops::get_resource(st, &identifier).await?, c.json)
        }
        ResourceCmd::Create {
            identifier,
            opts,
            inactive,
        } => {
            let req = ResourceCreate {
                identifier,
                name: opts.name.clone(),
                scopes: opts.scopes().unwrap_or_default(),
                scope_descriptions: opts.descriptions()?.unwrap_or_default(),
                access_token_format: opts.access_token_format.clone(),
                access_token_lifetime: opts.access_token_lifetime.clone(),
                signing_alg: opts.signing_alg.clone(),
                claims: opts.claims().unwrap_or_default(),
                active: Some(!inactive),
            };
            show(&ops::create_resource(st, req, &caller()).await?, c.json)
        }
        ResourceCmd::Update {
            identifier,
            opts,
            active,
        } => {
            let p = ResourcePatch {
                name: opts.name.clone().map(Some),
                scopes: opts.scopes(),
                scope_descriptions: opts.descriptions()?,
                access_token_format: opts.access_token_format.clone().map(Some),
                access_token_lifetime: opts.access_token_lifetime.clone().map(Some),
                signing_alg: opts.signing_alg.clone().map(Some),
                claims: opts.claims(),
                active,
            };
            if p == ResourcePatch::default() {
                return Err(Failure::Usage(
                    "nothing to change: give at least one option (see `baton resource update --help`)".into(),
                ));
            }
            show(
                &ops::patch_resource(st, &identifier, p, &caller()).await?,
                c.json,
            )
        }
        ResourceCmd::Delete { identifier } => {
            ops::delete_resource(st, &identifier, &caller()).await?;
            if c.json {
                print_json(&serde_json::json!({"deleted": identifier}))
            } else {
                println!("deleted resource {identifier}");
                Ok(())
            }
        }
    }
}

fn show(v: &ResourceView, json: bool) -> Outcome {
    if json {
        return print_json(v);
    }
    let default = || "(server default)".to_string();
    let descriptions: Vec<String> = v
        .scope_descriptions
        .iter()
        .map(|(s, d)| format!("{s}={d}"))
        .collect();
    print!(
        "{}",
        fields(&[
            ("identifier", v.identifier.clone()),
            ("name", v.name.clone().unwrap_or_default()),
            ("scopes", v.scopes.join(" ")),
            ("scope_descriptions", descriptions.join("; ")),
            ("claims", v.claims.join(" ")),
            (
                "access_token_fmt",
                v.access_token_format
                    .clone()
                    .unwrap_or_else(|| "(the client's, else the server default)".into())
            ),
            (
                "access_token_life",
                v.access_token_lifetime.clone().unwrap_or_else(default)
            ),
            ("signing_alg", v.signing_alg.clone().unwrap_or_else(default)),
            ("active", yn(v.active).into()),
            ("clients", v.clients.join(" ")),
            ("created_at", v.created_at.clone()),
            ("managed_by", v.managed_by.clone()),
        ])
    );
    Ok(())
}
