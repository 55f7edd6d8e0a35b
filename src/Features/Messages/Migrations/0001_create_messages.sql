CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    sender       TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'message',
    body         TEXT NOT NULL,
    sent_at      TEXT NOT NULL,
    delivered_at TEXT NULL
);

-- recv claims the oldest undelivered message of one recipient.
CREATE INDEX messages_undelivered ON messages (recipient, id) WHERE delivered_at IS NULL;
-- the operator inbox and per-agent history.
CREATE INDEX messages_by_recipient ON messages (recipient, id);
