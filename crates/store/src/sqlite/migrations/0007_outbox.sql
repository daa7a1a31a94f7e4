-- The outbox: deliveries to other servers (back-channel logout, webhooks) kept until
-- done. A pending item (done_at NULL) is due at due_at (ms); a claim pushes due_at to
-- the end of its lease and records who holds it (claimed_by) and the try count, so an
-- item whose node died is due again when the lease ends. outcome is 'delivered' or
-- 'failed' once done_at is set; the cleanup job deletes done items past retention.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_by  TEXT,
    last_error  TEXT,
    done_at     INTEGER,
    outcome     TEXT
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE done_at IS NULL;
CREATE INDEX outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;

-- Webhook subscriptions ([[webhooks]], written at start-up): an event of `kind` (or
-- any, '*') goes to `sink`.
CREATE TABLE webhook_subscriptions (
    sink    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    PRIMARY KEY (sink, kind)
);

-- Every event recorded, by whichever write records it, enqueues its webhook
-- deliveries in the same transaction: at least once from the event's commit.
CREATE TRIGGER events_to_webhooks AFTER INSERT ON events
BEGIN
    INSERT INTO outbox (kind, target, payload, created_at, due_at)
    SELECT DISTINCT 'webhook', s.sink,
        json_object('id', NEW.id, 'kind', NEW.type, 'time', NEW.time,
                    'client_id', NEW.client_id, 'subject', NEW.subject,
                    'grant_id', NEW.grant_id, 'ip', NEW.ip,
                    'user_agent', NEW.user_agent, 'details', json(NEW.details)),
        NEW.time, NEW.time
    FROM webhook_subscriptions s
    WHERE s.kind = NEW.type OR s.kind = '*';
END;
