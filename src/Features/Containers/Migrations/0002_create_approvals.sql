-- What the manager asked for and the operator decided. A spawn is applied in the decision's own transaction (the agent's
-- row is written with it); a destroy after it, marked applied_at when done, and finished at start-up if the host died first.
CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,                 -- spawn | destroy | config_commit
    requester       TEXT NOT NULL,
    agent           TEXT NOT NULL,                 -- the agent it is about
    payload         TEXT NOT NULL,                 -- JSON: what was asked (spawn: name, purpose, command, driver; destroy: reason)
    status          TEXT NOT NULL,                 -- pending | approved | denied
    created_at      TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      TEXT,
    reason          TEXT,                          -- the decision's reason (the operator's note, or "timed out")
    applied_at      TEXT
);

CREATE INDEX approvals_by_status ON approvals (status, id);
