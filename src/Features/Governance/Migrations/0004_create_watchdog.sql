-- Whether a turn did anything besides take its wake (a message sent, a new one acknowledged, a reminder or question changed).
ALTER TABLE governed_turns ADD COLUMN acted INTEGER NOT NULL DEFAULT 0;

-- The watchdog's questions to the operator, one per firing (key: the rule and what it fired on), until answered.
CREATE TABLE watchdog_questions (
    question_id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    agent TEXT NOT NULL,
    turn_id INTEGER,
    state TEXT NOT NULL DEFAULT 'open',
    asked_at TEXT NOT NULL
);
CREATE INDEX watchdog_questions_by_agent ON watchdog_questions (agent, rule);
