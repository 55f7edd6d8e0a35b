-- Why the last exit happened when the host knows (oom: killed at the memory cap), and the agent's own resource caps
-- (NULL: the hive's default, Hive:Containers:Limits).
ALTER TABLE agents ADD COLUMN last_exit_reason TEXT NULL;
ALTER TABLE agents ADD COLUMN limit_memory_mib INTEGER NULL;
ALTER TABLE agents ADD COLUMN limit_cpu_percent INTEGER NULL;
ALTER TABLE agents ADD COLUMN limit_pids INTEGER NULL;
