-- Users who may sign in to the operator console (`/console`). Nobody is an admin until
-- the configuration file, the admin API or the CLI says so. The partial index answers
-- "is there any admin at all" (the console is off until there is) without a scan.
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1));
CREATE INDEX users_admin ON users (username) WHERE admin = 1;
