-- Threads and broadcasts (issue 15): in_reply_to is the message this one answers (one its sender sent or received);
-- broadcast_id is set on every row of a send to all live agents, the id of its first row.
ALTER TABLE messages ADD COLUMN in_reply_to INTEGER NULL;
ALTER TABLE messages ADD COLUMN broadcast_id INTEGER NULL;
