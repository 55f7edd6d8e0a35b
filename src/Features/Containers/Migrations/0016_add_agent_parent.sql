-- The hierarchy: the agent an agent was spawned under (NULL: the top level, the manager's), and what it may spawn without
-- asking, JSON {depth, children} (NULL: nothing).
ALTER TABLE agents ADD COLUMN parent TEXT;
ALTER TABLE agents ADD COLUMN may_spawn TEXT;
CREATE INDEX agents_parent ON agents (parent) WHERE parent IS NOT NULL;
