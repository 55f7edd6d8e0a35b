-- Loose ends (issue 15): an agent's open questions are also those waiting for its answer, looked up by target.
CREATE INDEX questions_open_by_target ON questions (target, id) WHERE answered_at IS NULL;
