-- What needs the operator, one row per channel that takes its kind, written in the change that raised it. Pending until
-- its quiet delay is over (skipped if decided meanwhile), then put in a delivery (one push per channel per batch).
CREATE TABLE notification_items (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    delivery_id TEXT
);
CREATE INDEX notification_items_pending ON notification_items (channel, due_at) WHERE state = 'pending';
CREATE INDEX notification_items_by_subject ON notification_items (subject, state);

-- One push to one channel: its id is sent with it (a receiver drops a repeat), kept across retries.
CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX notification_deliveries_pending ON notification_deliveries (next_attempt_at) WHERE state = 'pending';

-- One-tap links: only the hash of each token (the token itself is derived again from the key when a push is composed).
CREATE TABLE action_tokens (
    token_hash TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL,
    subject TEXT NOT NULL,
    action TEXT NOT NULL,
    value TEXT,
    label TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX action_tokens_by_subject ON action_tokens (subject);

-- The key the action tokens are derived from: made here, never leaves the database.
CREATE TABLE notification_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);
INSERT INTO notification_key (id, key) VALUES (1, randomblob(32));
