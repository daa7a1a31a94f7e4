//! `baton events`: the event log, newest first.

use super::table::Table;
use super::{open, print_json, Common, Failure, Outcome};
use baton_proto::admin::EventListQuery;
use baton_server::admin::ops;
use clap::Args;

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Only events of this type, e.g. token.reuse_detected, grant.revoked.
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// Only events about this client.
    #[arg(long = "client", value_name = "CLIENT_ID")]
    client: Option<String>,
    /// Only events about this subject (the user's `sub`).
    #[arg(long = "subject", value_name = "SUB")]
    subject: Option<String>,
    /// Only events of this grant (its id, as `baton grants` shows it).
    #[arg(long = "grant", value_name = "GRANT_ID")]
    grant: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-01-31T12:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    until: Option<String>,
    /// At most this many (1 to 1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
}

pub async fn run(a: EventsArgs, c: &Common) -> Outcome {
    for (flag, v) in [("--since", &a.since), ("--until", &a.until)] {
        if let Some(s) = v {
            if baton_core::time::Timestamp::parse_rfc3339(s).is_none() {
                return Err(Failure::Usage(format!(
                    "{flag}: `{s}` is not an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"
                )));
            }
        }
    }
    let st = open(c).await?;
    let r = ops::list_events(
        &st,
        EventListQuery {
            kind: a.kind,
            client_id: a.client,
            subject: a.subject,
            grant_id: a.grant,
            since: a.since,
            until: a.until,
            cursor: None,
            limit: Some(usize::from(a.limit)),
        },
    )
    .await;
    st.store_close();
    let page = r?;
    if c.json {
        return print_json(&page.items);
    }
    let mut t = Table::new(&[
        "TIME",
        "TYPE",
        "CLIENT_ID",
        "SUBJECT",
        "GRANT_ID",
        "DETAILS",
    ]);
    for e in &page.items {
        t.row(vec![
            e.time.clone(),
            e.kind.clone(),
            e.client_id.clone().unwrap_or_default(),
            e.subject.clone().unwrap_or_default(),
            e.grant_id.clone().unwrap_or_default(),
            e.details.to_string(),
        ]);
    }
    t.print();
    Ok(())
}
