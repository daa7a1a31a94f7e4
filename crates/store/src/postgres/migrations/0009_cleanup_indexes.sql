-- What the cleanup job deletes, found through an index instead of a scan of the whole
-- table (at millions of grants each batch would otherwise read the whole table). Each
-- index matches one term of the cleanup's conditions (store::codec). (Codes, revoked
-- token ids and reference tokens have had their expiry indexes since migration 1.)
CREATE INDEX grants_revoked_at ON grants (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX grants_expires_at ON grants (expires_at) WHERE revoked_at IS NULL;
CREATE INDEX grants_idle_until ON grants ((last_used_at + sliding_ms)) WHERE revoked_at IS NULL;
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX revocation_markers_marked_at ON revocation_markers (marked_at);
