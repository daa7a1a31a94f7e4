-- What the cleanup job deletes, found through an index instead of a scan of the whole
-- table (at millions of grants a scan per batch would stall the single writer). Each
-- index matches one term of the cleanup's conditions (store::codec).
CREATE INDEX grants_revoked_at ON grants (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX grants_expires_at ON grants (expires_at) WHERE revoked_at IS NULL;
CREATE INDEX grants_idle_until ON grants (last_used_at + sliding_ms) WHERE revoked_at IS NULL;
CREATE INDEX codes_expires_at ON codes (expires_at);
CREATE INDEX revoked_jtis_expires_at ON revoked_jtis (expires_at);
CREATE INDEX reference_tokens_expires_at ON reference_tokens (expires_at);
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX revocation_markers_marked_at ON revocation_markers (marked_at);
