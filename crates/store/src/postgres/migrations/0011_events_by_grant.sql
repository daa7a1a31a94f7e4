-- A grant's events (the console's grant timeline, the admin API's `grant_id` filter),
-- newest first, found through an index instead of a scan of the event log.
CREATE INDEX events_grant ON events (grant_id, id) WHERE grant_id IS NOT NULL;
