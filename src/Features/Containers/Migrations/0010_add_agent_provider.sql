-- The model provider whose quota and caps the agent counts against (a lowercase name; NULL: the default, anthropic).
ALTER TABLE agents ADD COLUMN provider TEXT NULL;
