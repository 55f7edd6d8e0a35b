-- At-least-once delivery: recv hands a message out (delivery_count + 1, in flight until in_flight_until); ack sets
-- delivered_at; a message not acknowledged in time is handed out again, up to a limit, then set aside
-- (undeliverable_at). client_id makes a sender's retried send idempotent.
ALTER TABLE messages ADD COLUMN delivery_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN in_flight_until TEXT NULL;
ALTER TABLE messages ADD COLUMN undeliverable_at TEXT NULL;
ALTER TABLE messages ADD COLUMN client_id TEXT NULL;

-- Messages taken before acknowledgements existed were handed out once.
UPDATE messages SET delivery_count = 1 WHERE delivered_at IS NOT NULL;

DROP INDEX messages_undelivered;
-- recv looks at one recipient's messages not yet acknowledged nor set aside, oldest first.
CREATE INDEX messages_pending ON messages (recipient, id) WHERE delivered_at IS NULL AND undeliverable_at IS NULL;
CREATE UNIQUE INDEX messages_client_id ON messages (sender, client_id) WHERE client_id IS NOT NULL;
