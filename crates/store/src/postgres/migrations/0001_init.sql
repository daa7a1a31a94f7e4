-- Baton schema v1 (PostgreSQL). The same tables as the SQLite schema, in PostgreSQL
-- types: BYTEA ids and digests, BIGINT millisecond timestamps, BOOLEAN flags, JSONB for
-- the documents (the JSON shapes of store::codec), TEXT[] for consented scopes.
-- Identifiers and event ids compare byte-wise (COLLATE "C") so that orderings match
-- SQLite's whatever the database's locale.
-- Forward-only: later versions add files, never edit this one.

CREATE TABLE clients (
    client_id   TEXT COLLATE "C" PRIMARY KEY,
    data        JSONB NOT NULL,         -- everything else (see store::codec)
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    sub           TEXT PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    claims        JSONB NOT NULL,
    created_at    BIGINT NOT NULL
);

-- One row per token family. Rotation is one conditional UPDATE of `generation`.
-- No token value or digest is stored anywhere.
CREATE TABLE grants (
    id                    BYTEA PRIMARY KEY,
    client_id             TEXT NOT NULL,
    subject               TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    session_id            TEXT,
    online                BOOLEAN NOT NULL,
    auth_time             BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT,
    sliding_ms            BIGINT,
    last_used_at          BIGINT NOT NULL,
    generation            BIGINT NOT NULL,
    generation_started_at BIGINT NOT NULL,
    rotate                BOOLEAN NOT NULL,
    grace_ms              BIGINT NOT NULL,
    update_claims         BOOLEAN NOT NULL,
    claims                TEXT,          -- the claims snapshot, kept byte-exact
    revoked_at            BIGINT,
    revoked_reason        TEXT
);
CREATE INDEX grants_client_subject ON grants (client_id, subject);
CREATE INDEX grants_subject ON grants (subject);
CREATE INDEX grants_session ON grants (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX grants_created ON grants (created_at, id);

CREATE TABLE codes (
    digest      BYTEA PRIMARY KEY,
    data        JSONB NOT NULL,
    expires_at  BIGINT NOT NULL,
    used        JSONB                   -- CodeUse once exchanged
);
CREATE INDEX codes_expiry ON codes (expires_at);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX sessions_subject ON sessions (subject);
CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE ended_at IS NULL;

CREATE TABLE consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT[] NOT NULL,         -- in the order they were first granted
    PRIMARY KEY (subject, client_id)
);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    sealed_private BYTEA NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);

CREATE TABLE events (
    id          TEXT COLLATE "C" PRIMARY KEY,   -- sorts by time
    "type"      TEXT NOT NULL,
    "time"      BIGINT NOT NULL,
    client_id   TEXT,
    subject     TEXT,
    grant_id    TEXT,
    ip          TEXT,
    user_agent  TEXT,
    details     JSONB NOT NULL
);
CREATE INDEX events_type ON events ("type", id);
CREATE INDEX events_client ON events (client_id, id);
CREATE INDEX events_subject ON events (subject, id);

-- Opaque access tokens (clients with access_token_format = "reference"), by digest.
CREATE TABLE reference_tokens (
    digest      BYTEA PRIMARY KEY,
    data        JSONB NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX reference_tokens_expiry ON reference_tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX revoked_jtis_expiry ON revoked_jtis (expires_at);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
