-- AUTOINCREMENT: ids are never reused, so a cancel or retry aimed at a deleted reminder can't hit a newer one.
CREATE TABLE reminders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    agent        TEXT NOT NULL,
    body         TEXT NOT NULL,
    payload_path TEXT NULL,
    due_at       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- the scheduler's scan: due first, oldest first.
CREATE INDEX reminders_due ON reminders (due_at, id);
CREATE INDEX reminders_agent ON reminders (agent);
