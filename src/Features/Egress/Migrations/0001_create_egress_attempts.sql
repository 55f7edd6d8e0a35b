-- One row per connection an agent asked its egress proxy for, allowed or refused, written when it ended (a refusal at
-- once). The address is the one connected to (or the one refused); bytes are counted each way through the proxy.
CREATE TABLE egress_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent       TEXT NOT NULL,
    host        TEXT NOT NULL,
    port        INTEGER NOT NULL,
    method      TEXT NOT NULL,          -- CONNECT, or the plain-http request's method
    address     TEXT NULL,
    decision    TEXT NOT NULL,          -- allowed | refused | failed
    status      INTEGER NOT NULL,       -- what the proxy answered: 200, 403, 400, 502, 504...
    reason      TEXT NULL,
    bytes_out   INTEGER NOT NULL DEFAULT 0,   -- agent to the target
    bytes_in    INTEGER NOT NULL DEFAULT 0,   -- target to the agent
    duration_ms REAL NOT NULL,
    started_at  TEXT NOT NULL
);
CREATE INDEX egress_attempts_agent ON egress_attempts (agent, decision, id);
CREATE INDEX egress_attempts_started ON egress_attempts (started_at);
