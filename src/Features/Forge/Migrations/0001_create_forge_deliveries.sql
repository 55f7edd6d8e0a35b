-- The webhook deliveries received (Forgejo's X-Forgejo-Delivery id), each written in the change that delivers its message,
-- kept 7 days: a delivery id seen within them is a replay, refused, and delivers nothing. The id is not signed, so the
-- signed body's SHA-256 is a key too: a captured body sent again under a new id is a replay as well.
CREATE TABLE forge_deliveries (
    delivery TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    body_sha256 TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL
);
CREATE INDEX forge_deliveries_by_time ON forge_deliveries (received_at);
