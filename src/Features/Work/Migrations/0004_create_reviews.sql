-- A comment on lines of a ticket's diff, or a reply in a comment's thread (parent_id: the thread's first comment; a reply
-- has no lines of its own). The lines are numbered on their side (new: the branch's file, old: the base's) at head_sha,
-- and quoted as they were. Resolved by the ticket's owner, with the commit that addresses it.
CREATE TABLE review_comments (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    parent_id INTEGER REFERENCES review_comments (id),
    author TEXT NOT NULL,
    path TEXT,
    side TEXT,
    start_line INTEGER,
    line INTEGER,
    quoted TEXT,
    head_sha TEXT,
    text TEXT NOT NULL,
    written_at TEXT NOT NULL,
    resolved_by TEXT,
    resolved_commit TEXT,
    resolved_at TEXT
);
CREATE INDEX review_comments_by_ticket ON review_comments (ticket_id, id);

-- A review submitted: comment, request_changes or approve, at the branch's head then.
CREATE TABLE review_decisions (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL,
    body TEXT,
    head_sha TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
CREATE INDEX review_decisions_by_ticket ON review_decisions (ticket_id, id);
