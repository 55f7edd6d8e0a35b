-- Agents whose model calls' bodies are not recorded (the operator's per-agent switch; an agent without a row is recorded).
-- Their calls are still metered and listed: only the request and response bodies are not kept.
CREATE TABLE calls_unrecorded (
    agent      TEXT PRIMARY KEY,
    since      TEXT NOT NULL
);
