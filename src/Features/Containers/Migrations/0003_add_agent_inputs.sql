-- The meta inputs an agent is built from (JSON array of input names): a meta-update rebuilds the agents using a changed one.
ALTER TABLE agents ADD COLUMN inputs TEXT NOT NULL DEFAULT '[]';
