-- An agent's permission requests (an ACP agent's session/request_permission, through its harness) and how each was
-- decided. state: 'asking' (a question is open: question_id), then 'allow' or 'deny'; decided_by: 'policy' (rule says
-- which), 'hive' (the hive's own tools), 'operator', 'manager', 'expired' (the policy's default), 'cancelled'.
CREATE TABLE permission_requests (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT,
    tool TEXT,
    command TEXT,
    paths TEXT NOT NULL,
    options TEXT NOT NULL,
    tool_call_id TEXT,
    asked_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    rule TEXT,
    option_id TEXT,
    question_id INTEGER,
    decided_at TEXT
);
CREATE INDEX permission_requests_by_agent ON permission_requests (agent, id);
CREATE INDEX permission_requests_by_question ON permission_requests (question_id) WHERE question_id IS NOT NULL;
