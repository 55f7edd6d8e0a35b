-- Every action that overrides an agent's course, with who took it and at what authority, what it changed, and whether it
-- was reverted (and by which intervention). It takes over governance_audit's rows.
CREATE TABLE interventions (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    authority INTEGER NOT NULL,
    target TEXT,
    action TEXT NOT NULL,
    reason TEXT,
    before TEXT,
    after TEXT,
    reverted_by INTEGER,
    reverted_at TEXT
);
CREATE INDEX interventions_by_target ON interventions (target, id);

INSERT INTO interventions (id, at, actor, authority, target, action, after)
SELECT id, at, actor, CASE actor WHEN 'operator' THEN 4 WHEN 'manager' THEN 3 WHEN 'hive' THEN 5 ELSE 1 END, subject, action, detail
FROM governance_audit;

DROP TABLE governance_audit;
