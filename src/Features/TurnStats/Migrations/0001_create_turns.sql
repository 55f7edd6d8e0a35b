-- One row per turn an agent reports (record_turn). recorded_at is the host's clock: the 24-hour aggregates and the
-- retention sweep go by it, never by the agent's own started_at/ended_at. AUTOINCREMENT: ids are never reused, so a
-- page boundary (?before=<id>) never lands on a newer row.
CREATE TABLE turns (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    agent                 TEXT NOT NULL,
    recorded_at           TEXT NOT NULL,
    model                 TEXT NULL,
    wake_from             TEXT NULL,
    result_kind           TEXT NOT NULL,
    started_at            TEXT NOT NULL,
    ended_at              TEXT NOT NULL,
    duration_ms           INTEGER NOT NULL,
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    tool_call_count       INTEGER NOT NULL,
    tools                 TEXT NOT NULL,   -- a JSON object {name: count}
    open_threads_count    INTEGER NULL,
    open_reminders_count  INTEGER NULL,
    note                  TEXT NULL
);

-- an agent's page, newest first
CREATE INDEX turns_agent_id ON turns (agent, id);
-- an agent's last 24 hours and its last turn (the row facts)
CREATE INDEX turns_agent_recorded ON turns (agent, recorded_at);
-- the retention sweep
CREATE INDEX turns_recorded ON turns (recorded_at);
