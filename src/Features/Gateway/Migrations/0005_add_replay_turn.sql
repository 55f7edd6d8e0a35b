-- The replay agent's own turn (the one its first model call came in): its page shows that turn beside the original's.
ALTER TABLE replays ADD COLUMN turn_id INTEGER NULL;
