-- The agent registry: every agent the hive knows, what it runs, what the operator wants of it and what it is doing.
CREATE TABLE agents (
    name            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,                -- agent | manager
    driver          TEXT NOT NULL,                -- external | process | bubblewrap | nixos-container
    origin          TEXT NOT NULL,                -- config (Hive:Agents, re-read at every start) | api
    command         TEXT,                         -- JSON array of strings; NULL for external agents
    env             TEXT NOT NULL DEFAULT '{}',   -- JSON object
    mounts          TEXT NOT NULL DEFAULT '[]',   -- JSON array of host paths bound read-only (bubblewrap)
    purpose         TEXT,
    restart_policy  TEXT NOT NULL DEFAULT 'on-failure',
    desired         TEXT NOT NULL,                -- running | stopped
    state           TEXT NOT NULL,                -- running | stopped | crashed | failed
    transient       TEXT,                         -- starting | stopping | restarting | destroying, while an action runs
    pid             INTEGER,
    pid_start_ticks INTEGER,                      -- /proc/<pid>/stat starttime: tells our process from a reused pid
    started_at      TEXT,
    restarts        INTEGER NOT NULL DEFAULT 0,
    last_exit_code  INTEGER,
    last_exit_signal INTEGER,
    last_exit_at    TEXT,
    created_at      TEXT NOT NULL
);

-- Destroyed agents whose state dir is kept until the operator purges it or the name is spawned again.
CREATE TABLE tombstones (
    name         TEXT PRIMARY KEY,
    destroyed_at TEXT NOT NULL
);
