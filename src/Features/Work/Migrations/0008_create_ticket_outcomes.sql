-- What a finished ticket left (Memory/TicketOutcomes): written in the change that moved it to a terminal phase. summary is
-- the one its last worker wrote; files a JSON array (the files it handed in, replaced by its branch's changed files once
-- read); gates a JSON array of the moves whose gate or review spoke; cost_usd stays null while Hive meters no ticket's spend.
CREATE TABLE ticket_outcomes (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets (id),
    workflow    TEXT NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT,
    files       TEXT NOT NULL DEFAULT '[]',
    gates       TEXT NOT NULL DEFAULT '[]',
    cost_usd    REAL,
    finished_by TEXT,
    done_at     TEXT NOT NULL
);

-- The outcomes' text for full-text search, its rowid the ticket's id: a plain FTS5 table with its own copy (as the
-- message search's), so a search reads no column of tickets and a ticket edited after it finished keeps what it was.
CREATE VIRTUAL TABLE ticket_outcomes_text USING fts5(title, body, labels, summary, tokenize = 'unicode61 remove_diacritics 2');
