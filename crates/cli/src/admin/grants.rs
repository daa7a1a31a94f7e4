//! `baton grants list` and `baton revoke`.

use super::table::Table;
use super::{caller, open, print_json, Common, Failure, Outcome};
use baton_proto::admin::{GrantListQuery, RevocationRequest};
use baton_server::admin::ops;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum GrantsCmd {
    /// List grants, newest first: ids, client, subject, scope, dates, generation and
    /// status (never a token value).
    List {
        /// Only this client's grants.
        #[arg(long = "client", value_name = "CLIENT_ID")]
        client: Option<String>,
        /// Only this subject's grants (the user's `sub`).
        #[arg(long = "subject", value_name = "SUB")]
        subject: Option<String>,
        /// At most this many (1 to 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
}

/// `baton revoke`: what to revoke.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["client", "subject", "grant"])))]
pub struct RevokeArgs {
    /// Revoke every grant of this client (with --subject: of that user at this client).
    #[arg(long = "client", value_name = "CLIENT_ID")]
    client: Option<String>,
    /// Revoke every grant of this subject (the user's `sub`).
    #[arg(long = "subject", value_name = "SUB")]
    subject: Option<String>,
    /// Revoke this one grant.
    #[arg(long = "grant", value_name = "GRANT_ID", conflicts_with_all = ["client", "subject"])]
    grant: Option<String>,
}

pub async fn list(cmd: GrantsCmd, c: &Common) -> Outcome {
    let GrantsCmd::List {
        client,
        subject,
        limit,
    } = cmd;
    let st = open(c).await?;
    let r = ops::list_grants(
        &st,
        GrantListQuery {
            client_id: client,
            subject,
            cursor: None,
            limit: Some(usize::from(limit)),
        },
    )
    .await;
    st.store_close();
    let page = r?;
    if c.json {
        return print_json(&page);
    }
    let mut t = Table::new(&[
        "GRANT_ID",
        "CLIENT_ID",
        "SUBJECT",
        "STATUS",
        "GEN",
        "CREATED_AT",
        "LAST_USED_AT",
        "EXPIRES_AT",
        "SCOPE",
    ]);
    for g in &page.items {
        t.row(vec![
            g.grant_id.clone(),
            g.client_id.clone(),
            g.subject.clone(),
            g.status.clone(),
            g.generation.to_string(),
            g.created_at.clone(),
            g.last_used_at.clone(),
            g.expires_at.clone().unwrap_or_else(|| "never".into()),
            g.scope.clone(),
        ]);
    }
    t.print();
    if page.next_cursor.is_some() {
        eprintln!("(more grants: raise --limit or narrow with --client / --subject)");
    }
    Ok(())
}

pub async fn revoke(a: RevokeArgs, c: &Common) -> Outcome {
    if let Some(g) = &a.grant {
        if baton_core::model::GrantId::parse(g).is_none() {
            return Err(Failure::Usage(format!(
                "--grant: `{g}` is not a grant id (32 hex digits)"
            )));
        }
    }
    let st = open(c).await?;
    let r = ops::revoke(
        &st,
        RevocationRequest {
            client_id: a.client,
            subject: a.subject,
            grant_id: a.grant,
        },
        &caller(),
    )
    .await;
    st.store_close();
    let res = r?;
    if c.json {
        print_json(&res)
    } else {
        println!("revoked {} grant(s)", res.revoked);
        Ok(())
    }
}
