-- How a turn's cost_usd is known (#43): metered (the sum of its calls through the gateway), reported (the agent said),
-- priced (its tokens at the configured price) or unknown; NULL for turns recorded before. reported_cost_usd is what the
-- agent said, kept beside a metered cost for comparison only.
ALTER TABLE turns ADD COLUMN cost_source TEXT NULL;
ALTER TABLE turns ADD COLUMN reported_cost_usd REAL NULL;
