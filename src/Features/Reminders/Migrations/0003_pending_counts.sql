-- Each agent's pending count, kept by triggers in the same transaction as the insert/delete that changes it, so
-- every event's pending_reminders is one primary-key lookup instead of a count(*) over the agent's reminders
-- (which made delivering N due reminders O(N^2)).
CREATE TABLE reminder_pending (
    agent   TEXT PRIMARY KEY,
    pending INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO reminder_pending (agent, pending) SELECT agent, count(*) FROM reminders GROUP BY agent;

CREATE TRIGGER reminders_pending_insert AFTER INSERT ON reminders BEGIN
    INSERT INTO reminder_pending (agent, pending) VALUES (NEW.agent, 1)
    ON CONFLICT (agent) DO UPDATE SET pending = pending + 1;
END;

CREATE TRIGGER reminders_pending_delete AFTER DELETE ON reminders BEGIN
    UPDATE reminder_pending SET pending = pending - 1 WHERE agent = OLD.agent;
END;
