-- A spawn beyond an agent's limits asked of its parent instead of the operator (may_spawn.ask = parent): the question put
-- to the parent and the approval its answer decides.
CREATE TABLE spawn_questions (
    question_id INTEGER PRIMARY KEY,
    approval_id INTEGER NOT NULL,
    decider TEXT NOT NULL
);
