-- Bulk revocations as the cache for `persist = false` grants sees them: a grant of the
-- cache matching `scope` (client, subject, client+subject, session, session+client;
-- see baton_core::store::marker_scopes) and created before `marked_at` (ms) is revoked,
-- whatever the cache itself says. Written in the same transaction as the bulk
-- revocation of the main store, so that losing the cache's index keys, or the cache
-- being down, cannot keep such a grant alive.
CREATE TABLE revocation_markers (
    scope   TEXT NOT NULL PRIMARY KEY,
    marked_at INTEGER NOT NULL,
    reason  TEXT NOT NULL
) WITHOUT ROWID;
