-- A fork of a conversation: a new agent (agent) with the original's configuration, its state dir and session as they were
-- at the end of turn source_turn of source_agent, its next turn run live with the model and/or the message given.
-- released: its agent was destroyed, so the name is an ordinary agent's to take again.
CREATE TABLE forks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agent         TEXT NOT NULL,
    source_agent  TEXT NOT NULL,
    source_turn   INTEGER NOT NULL,
    model         TEXT NULL,
    message       TEXT NULL,
    created_at    TEXT NOT NULL,
    released      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX forks_agent ON forks (agent, id);
CREATE INDEX forks_source ON forks (source_agent, source_turn);
