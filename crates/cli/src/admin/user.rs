//! `baton user list|show|create|update|delete`. Passwords come from standard input
//! (`--password-stdin`), never from the command line.

use super::table::{fields, Table};
use super::{
    caller, json_object, open, password_from_stdin, print_json, yn, Common, Failure, Outcome,
};
use baton_proto::admin::{ListQuery, UserCreate, UserPatch, UserView};
use baton_server::admin::ops;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// List every user (read page by page), with who manages them: `config` (the
    /// configuration file: read-only here) or `api`.
    List,
    /// Show one user (never the password hash).
    Show {
        /// The user's username.
        username: String,
    },
    /// Create a user; the password is read from standard input.
    Create {
        /// The new user's username.
        username: String,
        /// Read the password from standard input (the first line). Required.
        #[arg(long)]
        password_stdin: bool,
        /// Claims as a JSON object, e.g. '{"email": "a@example.com"}'.
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
        /// Create the user disabled.
        #[arg(long)]
        inactive: bool,
        /// Let the user sign in to the operator console (`/console`).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        labels: Labels,
    },
    /// Change a user: only the options given change (the `sub` never changes). A user
    /// of the configuration file is read-only here: change them in the file.
    Update {
        /// The user's username.
        username: String,
        /// Rename the user.
        #[arg(long, value_name = "NEW_USERNAME")]
        rename: Option<String>,
        /// Read a new password from standard input (the first line).
        #[arg(long)]
        password_stdin: bool,
        /// Enable (true) or disable (false) the user.
        #[arg(long, value_name = "BOOL")]
        active: Option<bool>,
        /// Grant (true) or withdraw (false) access to the operator console.
        #[arg(long, value_name = "BOOL")]
        admin: Option<bool>,
        /// Replace the claims with this JSON object.
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
        #[command(flatten)]
        labels: Labels,
    },
    /// Delete a user and revoke their grants (not one of the configuration file:
    /// remove that from the file).
    Delete {
        /// The user's username.
        username: String,
    },
}

/// A user's roles and groups, released where claim mapping names them.
#[derive(Args, Debug, Default)]
pub struct Labels {
    /// A role of the user (repeat; on update, replaces the roles).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// A group of the user (repeat; on update, replaces the groups).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
}

pub async fn run(cmd: UserCmd, c: &Common) -> Outcome {
    // Validate what needs no store first, so that bad arguments never wait on it.
    let password = match &cmd {
        UserCmd::Create { password_stdin, .. } if !password_stdin => return Err(Failure::Usage(
            "a password is required: pipe it in with --password-stdin (never on the command line)"
                .into(),
        )),
        UserCmd::Create { .. }
        | UserCmd::Update {
            password_stdin: true,
            ..
        } => Some(password_from_stdin()?),
        _ => None,
    };
    let st = open(c).await?;
    let r = exec(cmd, c, &st, password).await;
    st.store_close();
    r
}

async fn exec(
    cmd: UserCmd,
    c: &Common,
    st: &baton_server::state::AppState,
    password: Option<String>,
) -> Outcome {
    match cmd {
        UserCmd::List => {
            let mut us = Vec::new();
            let mut cursor = None;
            loop {
                let q = ListQuery {
                    cursor,
                    limit: Some(ops::MAX_PAGE),
                };
                let page = ops::list_users(st, q).await?;
                us.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if c.json {
                return print_json(&us);
            }
            let mut t = Table::new(&[
                "USERNAME",
                "SUB",
                "ACTIVE",
                "ADMIN",
                "CREATED_AT",
                "MANAGED_BY",
            ]);
            for u in &us {
                t.row(vec![
                    u.username.clone(),
                    u.sub.clone(),
                    yn(u.active).into(),
                    yn(u.admin).into(),
                    u.created_at.clone(),
                    u.managed_by.clone(),
                ]);
            }
            t.print();
            Ok(())
        }
        UserCmd::Show { username } => show(&ops::get_user(st, &username).await?, c.json),
        UserCmd::Create {
            username,
            claims,
            inactive,
            admin,
            labels,
            ..
        } => {
            let req = UserCreate {
                username,
                password: password.unwrap_or_default(),
                active: Some(!inactive),
                claims: claims
                    .as_deref()
                    .map(|j| json_object("--claims", j))
                    .transpose()?
                    .unwrap_or_default(),
                roles: labels.roles,
                groups: labels.groups,
                admin: Some(admin),
            };
            show(&ops::create_user(st, req, &caller()).await?, c.json)
        }
        UserCmd::Update {
            username,
            rename,
            active,
            admin,
            claims,
            labels,
            ..
        } => {
            let p = UserPatch {
                username: rename,
                password,
                active,
                claims: claims
                    .as_deref()
                    .map(|j| json_object("--claims", j))
                    .transpose()?,
                roles: (!labels.roles.is_empty()).then_some(labels.roles),
                groups: (!labels.groups.is_empty()).then_some(labels.groups),
                admin,
            };
            if p == UserPatch::default() {
                return Err(Failure::Usage(
                    "nothing to change: give at least one option (see `baton user update --help`)"
                        .into(),
                ));
            }
            show(&ops::patch_user(st, &username, p, &caller()).await?, c.json)
        }
        UserCmd::Delete { username } => {
            ops::delete_user(st, &username, &caller()).await?;
            if c.json {
                print_json(&serde_json::json!({"deleted": username}))
            } else {
                println!("deleted user {username} (their grants are revoked)");
                Ok(())
            }
        }
    }
}

fn show(u: &UserView, json: bool) -> Outcome {
    if json {
        return print_json(u);
    }
    print!(
        "{}",
        fields(&[
            ("username", u.username.clone()),
            ("sub", u.sub.clone()),
            ("active", yn(u.active).into()),
            ("admin", yn(u.admin).into()),
            (
                "claims",
                serde_json::Value::Object(u.claims.clone()).to_string()
            ),
            // JSON: a role or group may hold spaces.
            ("roles", serde_json::json!(u.roles).to_string()),
            ("groups", serde_json::json!(u.groups).to_string()),
            ("created_at", u.created_at.clone()),
            ("managed_by", u.managed_by.clone()),
        ])
    );
    Ok(())
}
