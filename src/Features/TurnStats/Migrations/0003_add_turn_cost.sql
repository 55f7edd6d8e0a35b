-- What a turn cost in US dollars, as the agent's program reported it (Claude Code's total_cost_usd); NULL when it did not say.
ALTER TABLE turns ADD COLUMN cost_usd REAL NULL;
