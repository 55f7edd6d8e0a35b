-- What work the agent takes (JSON array of capability names, e.g. ["design","review"]; '[]': none). The work layer offers
-- a ticket's phase to idle agents having the capability it needs (GET /api/agents?capability=review).
ALTER TABLE agents ADD COLUMN capabilities TEXT NOT NULL DEFAULT '[]';
