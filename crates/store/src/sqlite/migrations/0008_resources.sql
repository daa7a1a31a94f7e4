-- Resources (APIs, RFC 8707): the identifier is the audience of their access tokens;
-- everything else is a JSON document (see store::codec).
CREATE TABLE resources (
    identifier  TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    managed_by  TEXT NOT NULL DEFAULT 'api'
);
-- Users' roles and groups (JSON arrays of strings), released where claim mapping says.
ALTER TABLE users ADD COLUMN user_roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN user_groups TEXT NOT NULL DEFAULT '[]';
-- The resources a grant was given for, space-separated (identifiers hold no spaces);
-- NULL: none.
ALTER TABLE grants ADD COLUMN resources TEXT;
-- The resources a user consented to for a client, space-separated, in the order
-- first consented to.
ALTER TABLE consents ADD COLUMN resources TEXT NOT NULL DEFAULT '';
