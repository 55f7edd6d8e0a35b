-- The secrets an agent gets in its environment: a JSON object of env var name -> secret name (NULL: none). Names only:
-- the values live in <DataDir>/secrets/ and reach nothing but the agent's environment at start.
ALTER TABLE agents ADD COLUMN secrets TEXT NULL;
