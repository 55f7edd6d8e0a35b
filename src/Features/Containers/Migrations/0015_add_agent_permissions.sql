-- How an agent's permission requests are answered: JSON {allow, ask, deny, default, ttl_seconds, ask_to}, NULL when none is
-- set (each request is then asked).
ALTER TABLE agents ADD COLUMN permissions TEXT;
