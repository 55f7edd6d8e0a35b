-- What the gateway metered for a granted turn (#43): its calls, their tokens of each kind and their cost. A turn with
-- metered calls is accounted by these, not by what its agent reports.
ALTER TABLE governed_turns ADD COLUMN metered_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE governed_turns ADD COLUMN metered_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE governed_turns ADD COLUMN metered_output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE governed_turns ADD COLUMN metered_cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE governed_turns ADD COLUMN metered_cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE governed_turns ADD COLUMN metered_cost_usd REAL NOT NULL DEFAULT 0;

-- The part of a spend row that reaches the hive's books (NULL: all of it, as every row before #43 did). A self-reported
-- cost reaches the hive only through the agent's own caps.
ALTER TABLE spend ADD COLUMN hive_cost_usd REAL;
ALTER TABLE spend ADD COLUMN hive_tokens INTEGER;

-- An agent's own quota_hit holds that agent (not its provider's other agents) until the reset it named.
CREATE TABLE agent_quota_holds (
    agent TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    until TEXT NOT NULL,
    since TEXT NOT NULL
);

-- The operator cleared a provider's circuit (or its agents' holds): agents' reports cannot re-open it before until.
CREATE TABLE quota_circuit_clears (
    provider TEXT PRIMARY KEY,
    until TEXT NOT NULL,
    cleared_by TEXT NOT NULL,
    cleared_at TEXT NOT NULL
);
