-- The hive's name in its constellation, recorded at the first start with one: names are immutable (mail already
-- sent carries it, and the other hives route to it).
CREATE TABLE constellation_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- Mail for other hives, written in the sender's change; the relay publishes unsent rows in id order. AUTOINCREMENT:
-- the id is part of the global id (<hive>:<id>), never to be reused.
CREATE TABLE constellation_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    message_id INTEGER,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX constellation_outbox_unsent ON constellation_outbox (id) WHERE sent_at IS NULL;

-- Every global id taken in, so a redelivery (after a crash before the ack) delivers nothing new.
CREATE TABLE constellation_inbox (
    global_id TEXT PRIMARY KEY,
    from_hive TEXT NOT NULL,
    message_id INTEGER,
    received_at TEXT NOT NULL
);

-- What arrived and could not be taken in: unparseable, or refused (published under another hive's name).
CREATE TABLE constellation_dead_letters (
    id INTEGER PRIMARY KEY,
    global_id TEXT,
    user_id TEXT,
    routing_key TEXT,
    reason TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL
);
