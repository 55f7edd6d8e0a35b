-- A conflict risk between two active tickets (ticket_a < ticket_b), raised by the radar (Radar/ConflictRadar): danger when
-- their changes overlap lines of a file, warning when they change the same file, or when one changes a path the other's
-- owner holds a lease on (reason). Open until it no longer holds (cleared_at); files is a JSON array of paths.
CREATE TABLE conflict_risks (
    id INTEGER PRIMARY KEY,
    ticket_a INTEGER NOT NULL REFERENCES tickets (id),
    ticket_b INTEGER NOT NULL REFERENCES tickets (id),
    level TEXT NOT NULL,
    reason TEXT NOT NULL,
    files TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    cleared_at TEXT
);
CREATE UNIQUE INDEX conflict_risks_open ON conflict_risks (ticket_a, ticket_b) WHERE cleared_at IS NULL;
