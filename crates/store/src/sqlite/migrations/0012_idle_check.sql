-- A rotation changes no indexed column, so the UPDATE writes the grant's row and no
-- index page. Until now the cleanup job found grants past their sliding lifetime through
-- an index on `last_used_at + sliding_ms`, which every rotation and touch changed (one
-- more random page per commit at millions of grants).
--
-- `idle_check_at` is a lower bound of that deadline, written when the grant is created
-- and not by its use: the cleanup job looks at the grants whose `idle_check_at` has
-- passed, deletes those that are idle, and moves the others' `idle_check_at` to their
-- real deadline (store::codec::RECHECK_IDLE_WHERE). Grants already stored get 0 (a valid lower
-- bound, and no rewrite of the table here): the job's first runs after the upgrade
-- recheck them all, in its paced batches.
ALTER TABLE grants ADD COLUMN idle_check_at INTEGER DEFAULT 0;
DROP INDEX grants_idle_until;
CREATE INDEX grants_idle_check ON grants (idle_check_at) WHERE revoked_at IS NULL;
