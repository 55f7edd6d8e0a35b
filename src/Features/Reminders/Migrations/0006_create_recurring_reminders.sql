-- A recurring reminder: a cron schedule that makes one ordinary reminder per run (issue 32). next_due_at is the next
-- occurrence not yet handled; the scheduler's tick handles every active one whose time has come.
CREATE TABLE recurring_reminders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    agent        TEXT NOT NULL,
    body         TEXT NOT NULL,
    payload_path TEXT NULL,
    cron         TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    catch_up     TEXT NOT NULL,
    overlap      TEXT NOT NULL,
    paused_at    TEXT NULL,
    next_due_at  TEXT NOT NULL,
    -- the message of the last run delivered: while the agent has not acknowledged it, skip_if_pending makes no new run
    last_message_id INTEGER NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX recurring_reminders_due ON recurring_reminders (next_due_at, id) WHERE paused_at IS NULL;
CREATE INDEX recurring_reminders_agent ON recurring_reminders (agent);

-- Each run's history (the last 50 per recurring reminder are kept): due (its reminder is waiting), delivered, failed,
-- skipped (missed while the host was down, or the last run still undelivered), cancelled.
CREATE TABLE reminder_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    recurring_id INTEGER NOT NULL,
    due_at       TEXT NOT NULL,
    state        TEXT NOT NULL,
    reminder_id  INTEGER NULL,
    message_id   INTEGER NULL,
    note         TEXT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX reminder_runs_recurring ON reminder_runs (recurring_id, id);
CREATE UNIQUE INDEX reminder_runs_reminder ON reminder_runs (reminder_id) WHERE reminder_id IS NOT NULL;

-- A run is an ordinary reminder that knows where it came from (and, with catch_up "one", how many runs it stands for).
ALTER TABLE reminders ADD COLUMN recurring_id INTEGER NULL;
ALTER TABLE reminders ADD COLUMN missed_runs INTEGER NULL;
