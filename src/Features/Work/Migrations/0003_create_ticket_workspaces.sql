-- A ticket's git worktree (Workspaces/TicketWorkspaces): a branch ticket/<id>-<slug> of a repository on the forge,
-- checked out in the claiming agent's work dir (agents/<agent>/work, /work in its sandbox), its git dir
-- work/repos/<owner>/<name>.git/worktrees/<git_dir>. One row per ticket, kept after removal (removed_at) with the bytes
-- the worktree held then; an agent holds at most one workspace at a time.
CREATE TABLE ticket_workspaces (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
    agent TEXT NOT NULL,
    repository TEXT NOT NULL,
    branch TEXT NOT NULL,
    host_path TEXT NOT NULL,
    git_dir TEXT NOT NULL,
    base_sha TEXT NOT NULL,
    head_sha TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    measured_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE UNIQUE INDEX ticket_workspaces_one_per_agent ON ticket_workspaces (agent) WHERE removed_at IS NULL;
