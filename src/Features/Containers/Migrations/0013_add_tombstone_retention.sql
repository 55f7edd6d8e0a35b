-- Tombstone retention (Hive:Containers:TombstoneRetainDays): what the last sweep found in a tombstone it did not purge.
-- kept_reason null = not kept by a sweep (not yet due, or never checked); a re-destroy's INSERT OR REPLACE clears both.
ALTER TABLE tombstones ADD COLUMN kept_reason TEXT;
ALTER TABLE tombstones ADD COLUMN checked_at TEXT;
