-- What an agent's program printed during its turns (issue 30 item 1), entries sent by the harness as the turn runs.
-- turn_id is NULL while the turn runs; record_turn sets it to the turns row it records (so the page pages by the ids
-- it already lists). at is the host's clock (retention goes by it, as for turns).
CREATE TABLE transcript_entries (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    agent   TEXT NOT NULL,
    turn_id INTEGER NULL,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,   -- text, tool_use, tool_result, result, system, output, truncated
    tool    TEXT NULL,
    text    TEXT NOT NULL
);

-- an agent's transcript, newest first, and its open (running) turn's entries
CREATE INDEX transcript_agent_id ON transcript_entries (agent, id);
CREATE INDEX transcript_agent_turn ON transcript_entries (agent, turn_id, id);
-- the retention sweep
CREATE INDEX transcript_at ON transcript_entries (at);

-- An agent's conversation with its program (issue 30 items 4, 5): the session its program resumes, the model it runs,
-- and what the operator asked of the next turn. One row per agent, written by the harness (session_id) and the
-- operator's slash commands; read by the harness at each turn's start.
CREATE TABLE conversations (
    agent        TEXT PRIMARY KEY,
    session_id   TEXT NULL,
    model        TEXT NULL,
    compact_next INTEGER NOT NULL DEFAULT 0,
    clear_next   INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL
);
