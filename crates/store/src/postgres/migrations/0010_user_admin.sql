-- Users who may sign in to the operator console (`/console`). Nobody is an admin until
-- the configuration file, the admin API or the CLI says so. The partial index answers
-- "is there any admin at all" (the console is off until there is) without a scan.
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX users_admin ON users (username) WHERE admin;
