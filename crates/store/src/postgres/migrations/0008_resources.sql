-- Resources (APIs, RFC 8707): the identifier is the audience of their access tokens;
-- everything else is a JSON document (see store::codec).
CREATE TABLE resources (
    identifier  TEXT COLLATE "C" PRIMARY KEY,
    data        JSONB NOT NULL,
    created_at  BIGINT NOT NULL,
    managed_by  TEXT NOT NULL DEFAULT 'api' CHECK (managed_by IN ('config', 'api'))
);
-- Users' roles and groups, released where claim mapping says.
ALTER TABLE users ADD COLUMN user_roles TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN user_groups TEXT[] NOT NULL DEFAULT '{}';
-- The resources a grant was given for, in the order asked; NULL: none.
ALTER TABLE grants ADD COLUMN resources TEXT[];
-- The resources a user consented to for a client, in the order first consented to.
ALTER TABLE consents ADD COLUMN resources TEXT[] NOT NULL DEFAULT '{}';
