//! `baton keys rotate`.

use super::table::Table;
use super::{caller, open, print_json, Common, Outcome};
use baton_server::admin::ops;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Make a new signing key for every algorithm, published in JWKS at once. The previous
    /// keys keep signing for `signing_keys.pre_publication` (default 10m), are retired
    /// then, and stay in JWKS until the tokens they signed have expired. Running servers
    /// pick the new keys up within seconds.
    Rotate,
}

pub async fn run(cmd: KeysCmd, c: &Common) -> Outcome {
    let KeysCmd::Rotate = cmd;
    let st = open(c).await?;
    let r = ops::rotate_keys(&st, &caller()).await;
    st.store_close();
    let k = r?;
    if c.json {
        return print_json(&k);
    }
    let mut t = Table::new(&["KID", "ALG", "STATE", "CREATED_AT", "RETIRED_AT"]);
    for (state, list) in [("active", &k.active), ("retired", &k.retired)] {
        for v in list {
            t.row(vec![
                v.kid.clone(),
                v.alg.clone(),
                state.into(),
                v.created_at.clone(),
                v.retired_at.clone().unwrap_or_default(),
            ]);
        }
    }
    t.print();
    Ok(())
}
