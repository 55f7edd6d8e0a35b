-- target NULL = a question to the operator; otherwise the peer agent asked.
-- answerer: who answered (the target, or "operator", which on a peer question is an override).
CREATE TABLE questions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    asker       TEXT NOT NULL,
    target      TEXT NULL,
    question    TEXT NOT NULL,
    asked_at    TEXT NOT NULL,
    answer      TEXT NULL,
    answerer    TEXT NULL,
    answered_at TEXT NULL
);

CREATE INDEX questions_pending ON questions (asker, id) WHERE answered_at IS NULL;
CREATE INDEX questions_answered ON questions (answered_at) WHERE answered_at IS NOT NULL;
