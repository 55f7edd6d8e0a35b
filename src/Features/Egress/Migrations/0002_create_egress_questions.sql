-- The operator's questions about places an agent with egress_ask was refused (issue 44): one open per agent and place;
-- state 'open', then 'once', 'always' or 'denied' (a denied place is not asked about again).
CREATE TABLE egress_questions (
    question_id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    asked_at TEXT NOT NULL
);
CREATE INDEX egress_questions_by_place ON egress_questions (agent, target, state);
