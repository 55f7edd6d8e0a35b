-- The search index reads answers behind their writers, after a cursor: answer_seq numbers answers in the order they
-- commit (a question's id orders its asking, not its answer). Answers already stored take their question's id, which is
-- unique and below every number given from now on (the next is the greatest so far plus one).
ALTER TABLE questions ADD COLUMN answer_seq INTEGER NULL;
UPDATE questions SET answer_seq = id WHERE answered_at IS NOT NULL;
CREATE UNIQUE INDEX questions_by_answer_seq ON questions (answer_seq) WHERE answer_seq IS NOT NULL;
