-- The index is kept behind its sources: per kind, the position (a source row's id, or an answer's number) up to which
-- the indexer has read. A batch's entries and its cursor commit in one transaction, so a kill loses or doubles nothing.
-- A hive that indexed inside its writers starts every cursor at 0: its first start reads each source once more in the
-- background, and what the index holds already (the same kind and ref) is kept as it is. That read replaces the one-off
-- backfill, whose record goes.
CREATE TABLE search_cursors (
    kind     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);

DROP TABLE search_sources;
