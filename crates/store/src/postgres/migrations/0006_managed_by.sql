-- Who manages each client and user: 'config' for an entry of the configuration file
-- (written at every start, read-only through the admin API and the CLI), 'api' for
-- the rest (admin API, CLI, /register). Start-up marks the configured entries; until
-- then every existing row is 'api'.
ALTER TABLE clients ADD COLUMN managed_by TEXT NOT NULL DEFAULT 'api'
    CHECK (managed_by IN ('config', 'api'));
ALTER TABLE users ADD COLUMN managed_by TEXT NOT NULL DEFAULT 'api'
    CHECK (managed_by IN ('config', 'api'));
