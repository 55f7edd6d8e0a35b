-- An agent's network (issue 44): 'sealed' (its own network namespace, loopback only; out through the hive's doors) or
-- 'open' (the host's); NULL reads as open, as every agent ran before. egress: JSON array of host[:port] rules, NULL when
-- none; egress_ask: whether a refused place becomes a question to the operator.
ALTER TABLE agents ADD COLUMN network TEXT;
ALTER TABLE agents ADD COLUMN egress TEXT;
ALTER TABLE agents ADD COLUMN egress_ask INTEGER NOT NULL DEFAULT 0;
