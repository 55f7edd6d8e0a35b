-- What each indexed text is: its kind and source row (a question and its answer share the question's id), who wrote it
-- and to whom, and when. Its id is the text's rowid in search_text, so a retention batch finds its rows by (kind, ref)
-- through the unique index instead of scanning the FTS table.
CREATE TABLE search_entries (
    id        INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL,
    ref       INTEGER NOT NULL,
    sender    TEXT    NOT NULL,
    recipient TEXT    NULL,
    at        TEXT    NOT NULL,
    UNIQUE (kind, ref)
);

-- A plain FTS5 table holding its own copy of the text: external content would read other slices' tables (which no
-- slice may name), and a contentless table cannot give snippets.
CREATE VIRTUAL TABLE search_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');

-- Which kinds the one-off backfill has read already: a source added later (transcripts) is backfilled once, at its first start.
CREATE TABLE search_sources (
    kind          TEXT PRIMARY KEY,
    backfilled_at TEXT NOT NULL
);
