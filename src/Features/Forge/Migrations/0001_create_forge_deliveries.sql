-- The webhook deliveries received (Forgejo's X-Forgejo-Delivery id), each written in the change that delivers its message,
-- kept 7 days: a delivery id seen within them is a replay, refused, and delivers nothing.
CREATE TABLE forge_deliveries (
    delivery TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX forge_deliveries_by_time ON forge_deliveries (received_at);
