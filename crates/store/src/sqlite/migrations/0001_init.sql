-- Baton schema v1 (SQLite). Forward-only: later versions add files, never edit this one.

CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    data        TEXT NOT NULL,          -- JSON of everything else (see store::codec)
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    sub           TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL,
    claims        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- One row per token family. Rotation is one conditional UPDATE of `generation`.
-- No token value or digest is stored anywhere.
CREATE TABLE grants (
    id                    BLOB PRIMARY KEY,
    client_id             TEXT NOT NULL,
    subject               TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    session_id            TEXT,
    online                INTEGER NOT NULL,
    auth_time             INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER,
    sliding_ms            INTEGER,
    last_used_at          INTEGER NOT NULL,
    generation            INTEGER NOT NULL,
    generation_started_at INTEGER NOT NULL,
    rotate                INTEGER NOT NULL,
    grace_ms              INTEGER NOT NULL,
    update_claims         INTEGER NOT NULL,
    claims                TEXT,
    revoked_at            INTEGER,
    revoked_reason        TEXT
) WITHOUT ROWID;
CREATE INDEX grants_client_subject ON grants (client_id, subject);
CREATE INDEX grants_subject ON grants (subject);
CREATE INDEX grants_session ON grants (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX grants_created ON grants (created_at, id);

CREATE TABLE codes (
    digest      BLOB PRIMARY KEY,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used        TEXT                    -- JSON of CodeUse once exchanged
) WITHOUT ROWID;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    auth_time    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX sessions_subject ON sessions (subject);

CREATE TABLE consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    PRIMARY KEY (subject, client_id)
) WITHOUT ROWID;

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    sealed_private BLOB NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,       -- sorts by time
    type        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    client_id   TEXT,
    subject     TEXT,
    grant_id    TEXT,
    ip          TEXT,
    user_agent  TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_client ON events (client_id, id);
CREATE INDEX events_subject ON events (subject, id);

-- Opaque access tokens (clients with access_token_format = "reference"), by digest.
CREATE TABLE reference_tokens (
    digest      BLOB PRIMARY KEY,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE ended_at IS NULL;

CREATE TABLE revoked_jtis (
    jti         TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
