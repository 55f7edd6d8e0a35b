-- One row per model call an agent made through the gateway, written when the call is let through (state 'open') and
-- completed when it ends ('complete', 'failed', 'refused' rows are written whole). A call the host died under stays
-- 'open' until the next start marks it 'interrupted': it is never counted as complete, and its spend is never counted.
-- Tokens and cost are the provider's own usage priced by the provider's table (cost NULL: the model has no price).
CREATE TABLE model_calls (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    agent              TEXT NOT NULL,
    turn_id            INTEGER NULL,
    provider           TEXT NOT NULL,
    model              TEXT NULL,
    path               TEXT NOT NULL,
    streamed           INTEGER NOT NULL,
    state              TEXT NOT NULL,       -- open | complete | failed | refused | interrupted
    status             INTEGER NULL,        -- the HTTP status the agent got
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL NULL,
    first_byte_ms      REAL NULL,
    duration_ms        REAL NULL,
    bytes_up           INTEGER NOT NULL DEFAULT 0,
    bytes_down         INTEGER NOT NULL DEFAULT 0,
    error              TEXT NULL,
    request_body       TEXT NULL,           -- the recorded bodies' content hashes (Recordings), NULL when not recorded
    response_body      TEXT NULL,
    started_at         TEXT NOT NULL,
    ended_at           TEXT NULL
);

-- an agent's calls, newest first, and a turn's
CREATE INDEX model_calls_agent_id ON model_calls (agent, id);
CREATE INDEX model_calls_turn ON model_calls (turn_id) WHERE turn_id IS NOT NULL;
-- the start-up sweep of calls left open
CREATE INDEX model_calls_open ON model_calls (state) WHERE state = 'open';
