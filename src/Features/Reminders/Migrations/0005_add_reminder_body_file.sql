-- A long reminder's body lives in reminders/<id>.md in its agent's state dir: body_file names that file (NULL when the
-- body fits in the row), so cancelling the reminder removes exactly the file the host wrote, never one the agent named.
ALTER TABLE reminders ADD COLUMN body_file TEXT NULL;
