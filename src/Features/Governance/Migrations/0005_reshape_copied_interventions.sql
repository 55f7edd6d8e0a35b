-- 0002 copied governance_audit's detail whole into `after`. Each copied row is reshaped as the code writes that action now
-- (reason, before, after; a hive resume as resume_hive), so a revert and the dashboard's before -> after read them right.
-- Each statement matches only the old shape (the code never writes it), so rows written since are left alone.
UPDATE interventions SET action = 'resume_hive',
    before = json_object('halted', json('true'), 'halted_by', json_extract(after, '$.halted_by'), 'halted_at', json_extract(after, '$.halted_at')),
    after = json_object('halted', json('false'))
WHERE action = 'resume' AND target IS NULL;

UPDATE interventions SET reason = json_extract(after, '$.reason'),
    before = json_object('halted', json('false')), after = json_object('halted', json('true'))
WHERE action = 'halt' AND before IS NULL;

UPDATE interventions SET
    before = json_object('paused', json('true'), 'paused_by', json_extract(after, '$.paused_by'), 'paused_at', json_extract(after, '$.paused_at')),
    after = json_object('paused', json('false'))
WHERE action = 'resume' AND target IS NOT NULL AND before IS NULL;

UPDATE interventions SET before = json_object('paused', json('false')), after = json_object('paused', json('true'))
WHERE action = 'pause' AND before IS NULL;

UPDATE interventions SET before = json_extract(after, '$.before'), after = json_extract(after, '$.after')
WHERE action = 'budget_set' AND before IS NULL AND json_valid(after) AND json_type(after, '$.after') IS NOT NULL;

UPDATE interventions SET reason = json_extract(after, '$.answer'),
    before = json_object('question_id', json_extract(after, '$.question_id')),
    after = json_object('applied', json(after -> '$.applied'))
WHERE action = 'budget_answer' AND before IS NULL AND json_valid(after);

UPDATE interventions SET reason = 'a usage or rate limit' WHERE action = 'quota_circuit_opened' AND reason IS NULL;

UPDATE interventions SET before = after, after = NULL WHERE action = 'quota_circuit_cleared' AND before IS NULL;
