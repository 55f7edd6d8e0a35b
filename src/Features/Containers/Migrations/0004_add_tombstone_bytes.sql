-- A tombstone's size on disk, measured once when it is made (its agent is gone, so it does not grow): a snapshot no longer
-- walks every tombstone's tree.
ALTER TABLE tombstones ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
