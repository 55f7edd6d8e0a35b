-- Whom the agent may message or ask (JSON array of agent names; NULL: anyone). The operator and the manager are always reachable.
ALTER TABLE agents ADD COLUMN allowed_recipients TEXT NULL;
