-- The turn as Governance granted it (#43): the id a model call through the gateway carries, so a recorded turn's calls
-- can be found (GET /api/agents/{name}/calls?turn=<granted_turn_id>). NULL for turns recorded before.
ALTER TABLE turns ADD COLUMN granted_turn_id INTEGER NULL;
