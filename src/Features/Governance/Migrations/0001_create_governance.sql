-- Turns granted through begin_turn: one row each, open until it ends (recorded, its connection closed, revoked, timed out).
CREATE TABLE governed_turns (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    provider TEXT NOT NULL,
    operator_wake INTEGER NOT NULL DEFAULT 0,
    waited_ms INTEGER NOT NULL DEFAULT 0,
    granted_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT,
    cost_usd REAL,
    tokens INTEGER
);
CREATE INDEX governed_turns_open ON governed_turns (agent) WHERE ended_at IS NULL;

-- What each recorded turn spent (granted or not): cost_usd NULL when unknown (no reported cost, no price for its model).
CREATE TABLE spend (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    at TEXT NOT NULL,
    cost_usd REAL,
    cost_source TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    turn_id INTEGER
);
CREATE INDEX spend_by_time ON spend (at);

CREATE TABLE hive_halt (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    halted_by TEXT NOT NULL,
    halted_at TEXT NOT NULL,
    reason TEXT
);

CREATE TABLE paused_agents (
    agent TEXT PRIMARY KEY,
    paused_by TEXT NOT NULL,
    paused_at TEXT NOT NULL
);

CREATE TABLE quota_circuits (
    provider TEXT PRIMARY KEY,
    until TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    opened_by TEXT NOT NULL
);

-- Caps set at run time (scope: an agent's name, or * for the hive); NULL: no cap of that kind. They replace the configured ones.
CREATE TABLE budgets (
    scope TEXT PRIMARY KEY,
    daily_usd REAL,
    monthly_usd REAL,
    daily_tokens INTEGER,
    monthly_tokens INTEGER,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);

-- A cap raised for one period only (an operator's "raise to $X for today"): period is the UTC day or month it holds for.
CREATE TABLE budget_raises (
    scope TEXT NOT NULL,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    cap REAL NOT NULL,
    PRIMARY KEY (scope, metric, period)
);

-- Turns allowed past a reached cap ("allow one more turn"), used up as they are granted.
CREATE TABLE budget_allowances (
    scope TEXT PRIMARY KEY,
    turns INTEGER NOT NULL
);

-- What the operator was told (kind warning or exceeded), once per scope, metric and period.
CREATE TABLE budget_notices (
    scope TEXT NOT NULL,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (scope, metric, period, kind)
);

-- The one open question per reached cap (state open, applied or kept: kept asks no more this period).
CREATE TABLE budget_questions (
    question_id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    raise_to REAL NOT NULL,
    state TEXT NOT NULL,
    asked_at TEXT NOT NULL
);

CREATE TABLE governance_audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    detail TEXT
);
