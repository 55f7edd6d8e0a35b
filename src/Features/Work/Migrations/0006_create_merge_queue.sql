-- A repository's merge queue (MergeQueue/): one row per ticket that entered it (approved in review), kept when it ends
-- (a ticket approved again replaces its row; every step is in merge_steps). files: a JSON array (a conflict's paths).
CREATE TABLE merge_queue (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
    repository TEXT NOT NULL,
    workflow TEXT NOT NULL,
    state TEXT NOT NULL,
    batch_id INTEGER,
    approved_by TEXT NOT NULL,
    enqueued_at TEXT NOT NULL,
    ended_at TEXT,
    reason TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    merge_sha TEXT
);
CREATE INDEX merge_queue_live ON merge_queue (repository, enqueued_at) WHERE state IN ('queued', 'testing', 'held');

-- A batch tested: tickets (a JSON array, in merge order) merged onto base at base_sha, result_sha the last merge. Written
-- before each step it starts, so a restart knows where it stopped: never pushed unless state reached 'pushing'.
CREATE TABLE merge_batches (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES merge_batches (id),
    repository TEXT NOT NULL,
    base TEXT NOT NULL,
    base_sha TEXT NOT NULL,
    tickets TEXT NOT NULL,
    state TEXT NOT NULL,
    result_sha TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    detail TEXT,
    check_tail TEXT,
    check_log TEXT
);
CREATE INDEX merge_batches_running ON merge_batches (id) WHERE state IN ('merging', 'checking', 'pushing');

-- Every step the queue took (the audit of what it did), in the change that did it.
CREATE TABLE merge_steps (
    id INTEGER PRIMARY KEY,
    repository TEXT NOT NULL,
    batch_id INTEGER,
    ticket_id INTEGER,
    step TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    by TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX merge_steps_by_ticket ON merge_steps (ticket_id, id) WHERE ticket_id IS NOT NULL;

CREATE TABLE merge_queue_pauses (
    repository TEXT PRIMARY KEY,
    paused_by TEXT NOT NULL,
    paused_at TEXT NOT NULL
);
