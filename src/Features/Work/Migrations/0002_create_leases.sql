-- Advisory leases on a path or a named resource. One row per holder: an exclusive lease is the resource's only row, shared
-- ones coexist. A row past expires_at is no lease (the sweep deletes it, and every read skips it until then).
CREATE TABLE leases (
    resource TEXT NOT NULL,
    holder TEXT NOT NULL,
    exclusive INTEGER NOT NULL,
    reason TEXT,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (resource, holder)
);
CREATE INDEX leases_by_holder ON leases (holder);
CREATE INDEX leases_by_expiry ON leases (expires_at);
