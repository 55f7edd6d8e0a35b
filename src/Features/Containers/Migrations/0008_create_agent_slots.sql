-- Each agent name's slot, for good: a root host runs the agent as Hive:Containers:AgentUidBase + its slot. AUTOINCREMENT
-- never gives a slot to another name, so an agent's uid (and what it left under it) never passes to a different agent;
-- a name spawned again is the same agent and gets its own uid back.
CREATE TABLE agent_slots (
    slot INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);
