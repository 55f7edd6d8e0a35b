-- Per-pair order (issue 33): each outbox row carries a sequence number per destination hive, assigned in the sender's
-- change; the receiver takes each pair's mail in that order, holding an early arrival until the gap fills.

-- The sender's last sequence number per destination: a counter of its own, so trimming sent outbox rows never reuses one.
CREATE TABLE constellation_outbound_sequences (
    destination TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
-- NULL for rows queued before this migration (they travel without one and are taken in as they come).
ALTER TABLE constellation_outbox ADD COLUMN seq INTEGER;

-- The receiver's next expected sequence number per sending hive (a pair not here expects 1).
CREATE TABLE constellation_inbound_sequences (
    from_hive TEXT PRIMARY KEY,
    next_seq INTEGER NOT NULL
);

-- Arrivals ahead of a gap: acknowledged to the broker and kept here (their global id is already in constellation_inbox)
-- until the missing ones arrive or the reorder window passes.
CREATE TABLE constellation_held (
    global_id TEXT PRIMARY KEY,
    from_hive TEXT NOT NULL,
    seq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    body TEXT NOT NULL,
    held_at TEXT NOT NULL
);
CREATE INDEX constellation_held_pair ON constellation_held (from_hive, seq);
CREATE INDEX constellation_held_age ON constellation_held (held_at);
