-- What a turn began from, taken as it was granted (before the agent's program ran): the messages that woke it, the
-- conversation it resumed, and its state dir's files (each stored once by content, with the recorded bodies, so retention
-- removes both alike). A replay or a fork starts from here. Only turns of agents whose calls are recorded have one.
CREATE TABLE turn_checkpoints (
    turn_id     INTEGER PRIMARY KEY,
    agent       TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    session_id  TEXT NULL,
    model       TEXT NULL,
    messages    TEXT NOT NULL,       -- JSON: [{from, kind, body, meta}] in the order they were handed out
    files       TEXT NOT NULL,       -- JSON: [{path, hash, mode, size}] relative to the state dir
    skipped     TEXT NOT NULL,       -- JSON: [{path, why}]: what was not kept (secrets by name, too large)
    bytes       INTEGER NOT NULL
);
CREATE INDEX turn_checkpoints_agent ON turn_checkpoints (agent, turn_id);

-- A replay of a recorded turn by an agent of its own (agent): its state ('running', 'identical', 'diverged', 'failed'),
-- how far it got through the recorded calls, where it diverged and how (JSON), and what it does then ('stop' or 'live').
-- released: its agent was destroyed, so the name is an ordinary agent's to take again.
CREATE TABLE replays (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    agent          TEXT NOT NULL,
    source_agent   TEXT NOT NULL,
    source_turn    INTEGER NOT NULL,
    on_divergence  TEXT NOT NULL,
    state          TEXT NOT NULL,
    calls_replayed INTEGER NOT NULL DEFAULT 0,
    calls_recorded INTEGER NOT NULL,
    divergence     TEXT NULL,
    note           TEXT NULL,
    created_at     TEXT NOT NULL,
    ended_at       TEXT NULL,
    released       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX replays_agent ON replays (agent, id);
CREATE INDEX replays_source ON replays (source_agent, source_turn);

-- The hive verbs a replay's agent called that would have reached beyond it (a send, an ask, a reminder, a ticket's move):
-- captured and answered, never carried out.
CREATE TABLE replay_captures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    replay_id  INTEGER NOT NULL,
    verb       TEXT NOT NULL,
    args       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX replay_captures_replay ON replay_captures (replay_id, id);
