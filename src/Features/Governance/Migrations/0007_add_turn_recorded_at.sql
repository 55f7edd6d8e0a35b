-- When its agent's record of a granted turn was taken. A turn the host ended first (its stop's grace ran out, its
-- connection dropped, the host restarted) may still be recorded once, late, so that what it spent is counted.
ALTER TABLE governed_turns ADD COLUMN recorded_at TEXT;
-- Before this column, a record always ended its turn and set its tokens.
UPDATE governed_turns SET recorded_at = ended_at WHERE tokens IS NOT NULL;
