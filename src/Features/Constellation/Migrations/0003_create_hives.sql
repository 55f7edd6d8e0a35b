-- The hives this one has heard from (its own included), from their heartbeats: the last beat as it came, when it came,
-- and whether it is still reachable (no beat for 3 of its intervals: not). Kept across restarts so the dashboard still
-- lists a hive that has gone quiet.
CREATE TABLE constellation_hives (
    name TEXT PRIMARY KEY,
    public_url TEXT,
    heartbeat_seconds REAL NOT NULL,
    beat TEXT NOT NULL,
    first_heard_at TEXT NOT NULL,
    last_heard_at TEXT NOT NULL,
    reachable INTEGER NOT NULL
);
