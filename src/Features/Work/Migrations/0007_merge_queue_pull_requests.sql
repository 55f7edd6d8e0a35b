-- A queued ticket's pull request on the forge (MergeQueue/QueuePullRequests): opened as its owning agent once the review
-- approved it, marked merged once the queue landed it. Asked of the forge again when the ticket enters the queue again
-- (the one still open for its branches is the answer).
ALTER TABLE merge_queue ADD COLUMN pull_number INTEGER;
ALTER TABLE merge_queue ADD COLUMN pull_url TEXT;
ALTER TABLE merge_queue ADD COLUMN pull_merged_at TEXT;
