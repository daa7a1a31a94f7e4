-- The clients that were issued an authorization code in a browser session: back-channel
-- logout tells each of them when the session ends (OIDC Back-Channel Logout 1.0), also
-- those that hold no grant (an ID token alone).
CREATE TABLE session_clients (
    session_id  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
) WITHOUT ROWID;
