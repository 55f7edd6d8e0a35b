-- The last good version of each workflow file (meta/workflows/<name>.yaml): a file that stops parsing keeps this one
-- running, across restarts too.
CREATE TABLE workflows (
    name TEXT PRIMARY KEY,
    yaml TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

-- A ticket sits in one phase of its workflow. While blocked it is in the workflow's side phase and remembers the phase
-- it came from (resume_phase: the board's column). Held by at most one agent (assignee), set only by an atomic claim.
-- next_phase is set once its gate passed and the next column had no room: the board pulls it when a slot frees.
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    workflow TEXT NOT NULL,
    phase TEXT NOT NULL,
    resume_phase TEXT,
    next_phase TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    assignee TEXT,
    claimed_at TEXT,
    offered_to TEXT,
    offered_at TEXT,
    labels TEXT NOT NULL DEFAULT '[]',
    context TEXT NOT NULL DEFAULT '[]',
    submitted TEXT,
    ticks TEXT NOT NULL DEFAULT '[]',
    blocked_question_id INTEGER,
    review_question_id INTEGER,
    reviewer TEXT,
    parent_id INTEGER REFERENCES tickets (id),
    discovery_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    phase_entered_at TEXT NOT NULL
);
CREATE INDEX tickets_by_phase ON tickets (workflow, phase);
CREATE INDEX tickets_by_assignee ON tickets (assignee) WHERE assignee IS NOT NULL;
CREATE INDEX tickets_by_parent ON tickets (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE ticket_dependencies (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    depends_on INTEGER NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (ticket_id, depends_on)
);
CREATE INDEX ticket_dependencies_reverse ON ticket_dependencies (depends_on);

-- Every move: from, to, who moved it, when, and what the gate found (JSON), in the change that moved it.
CREATE TABLE ticket_history (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    from_phase TEXT,
    to_phase TEXT NOT NULL,
    moved_by TEXT NOT NULL,
    moved_at TEXT NOT NULL,
    gate TEXT
);
CREATE INDEX ticket_history_by_ticket ON ticket_history (ticket_id, id);

CREATE TABLE ticket_notes (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    author TEXT NOT NULL,
    written_at TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX ticket_notes_by_ticket ON ticket_notes (ticket_id, id);
