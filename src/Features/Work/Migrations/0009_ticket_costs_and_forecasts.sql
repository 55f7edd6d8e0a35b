-- The turns a ticket was worked in (Forecasts/TicketTurns): a turn granted while its agent held the ticket, or in which
-- the agent claimed it. A ticket's cost is the metered cost of its turns, a turn shared by n tickets counting 1/n to each.
CREATE TABLE ticket_turns (
    turn_id   INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    agent     TEXT NOT NULL,
    noted_at  TEXT NOT NULL,
    PRIMARY KEY (turn_id, ticket_id)
);
CREATE INDEX ticket_turns_by_ticket ON ticket_turns (ticket_id);

-- A ticket's cost forecast (Forecasts/TicketForecasts), made again each time it is offered or claimed: p50/p90 NULL and
-- basis 0 when no finished ticket like it has a known cost. question_id: the one question asked when its P90 was above
-- what its assignee's daily budget had left (asked once per ticket); decision: the operator's 'yes' or 'no' to it.
CREATE TABLE ticket_forecasts (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets (id),
    p50_usd     REAL,
    p90_usd     REAL,
    basis       INTEGER NOT NULL,
    made_at     TEXT NOT NULL,
    question_id INTEGER,
    decision    TEXT
);
CREATE INDEX ticket_forecasts_by_question ON ticket_forecasts (question_id) WHERE question_id IS NOT NULL;

-- How many phases a finished ticket's workflow had: a forecast weighs a ticket of a like-shaped workflow higher.
ALTER TABLE ticket_outcomes ADD COLUMN phases INTEGER;
