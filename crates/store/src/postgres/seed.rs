//! Bulk seeding of grants for benchmarks (`baton seed-grants`): not a storage role.

use super::grants::GRANT_COLS;
use super::PgStore;
use baton_core::error::StoreError;
use baton_core::model::{Grant, GrantStatus};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

/// The column types of `GRANT_COLS` and `idle_check_at`, in that order.
const TYPES: [Type; 22] = [
    Type::BYTEA,      // id
    Type::TEXT,       // client_id
    Type::TEXT,       // subject
    Type::TEXT,       // scope
    Type::TEXT,       // session_id
    Type::BOOL,       // online
    Type::INT8,       // auth_time
    Type::INT8,       // created_at
    Type::INT8,       // expires_at
    Type::INT8,       // sliding_ms
    Type::INT8,       // last_used_at
    Type::INT8,       // generation
    Type::INT8,       // generation_started_at
    Type::BOOL,       // rotate
    Type::INT8,       // grace_ms
    Type::BOOL,       // update_claims
    Type::INT8,       // revoked_at
    Type::TEXT,       // revoked_reason
    Type::TEXT,       // claims
    Type::TEXT,       // dpop_jkt
    Type::TEXT_ARRAY, // resources
    Type::INT8,       // idle_check_at
];

impl PgStore {
    /// Inserts `grants` as they are with one `COPY … FROM STDIN (FORMAT binary)`, its
    /// own transaction. No event is recorded: seeded grants have no `grant.created`.
    pub async fn seed_grants(&self, grants: &[Grant]) -> Result<(), StoreError> {
        let sql = format!("COPY grants ({GRANT_COLS}, idle_check_at) FROM STDIN (FORMAT binary)");
        let mut c = self.conn().await?;
        let started = c.pg()?.client.copy_in(&sql).await;
        let sink = match started {
            Ok(s) => s,
            Err(e) => return Err(c.fail(&e)),
        };
        let writer = BinaryCopyInWriter::new(sink, &TYPES);
        let mut writer = std::pin::pin!(writer);
        for g in grants {
            let (revoked_at, reason) = match &g.status {
                GrantStatus::Active => (None, None),
                GrantStatus::Revoked { at, reason } => (Some(at.0), Some(reason.as_str())),
            };
            let resources = (!g.resources.is_empty()).then_some(&g.resources);
            let row = writer
                .as_mut()
                .write(&[
                    &&g.id.0[..],
                    &g.client_id,
                    &g.subject,
                    &g.scope.as_str(),
                    &g.session_id,
                    &g.online,
                    &g.auth_time.0,
                    &g.created_at.0,
                    &g.expires_at.map(|t| t.0),
                    &g.sliding.map(|d| d.0),
                    &g.last_used_at.0,
                    &(g.generation as i64),
                    &g.generation_started_at.0,
                    &g.rotate,
                    &g.grace.0,
                    &g.update_claims,
                    &revoked_at,
                    &reason,
                    &g.claims_snapshot,
                    &g.dpop_jkt,
                    &resources,
                    &g.idle_until().map(|t| t.0),
                ])
                .await;
            if let Err(e) = row {
                // The COPY is abandoned with its sink: the connection is not reused.
                c.healthy = false;
                return Err(c.fail(&e));
            }
        }
        match writer.finish().await {
            Ok(_) => Ok(()),
            Err(e) => {
                c.healthy = false;
                Err(c.fail(&e))
            }
        }
    }
}
