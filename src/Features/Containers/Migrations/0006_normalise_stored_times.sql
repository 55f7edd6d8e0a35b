-- Times in the wire's text form (yyyy-MM-ddTHH:mm:ss.fffZ) everywhere: until session 5, rows written through a Dapper
-- parameter held SQLite's "yyyy-MM-dd HH:mm:ss.fffffff+00:00" instead, which sorts before the wire form on the same day,
-- so text comparisons between the two went wrong. Values already in the wire form are left alone.
UPDATE agents SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', started_at)
    WHERE started_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', started_at) IS NOT NULL;
UPDATE agents SET last_exit_at = strftime('%Y-%m-%dT%H:%M:%fZ', last_exit_at)
    WHERE last_exit_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', last_exit_at) IS NOT NULL;
UPDATE agents SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at)
    WHERE created_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', created_at) IS NOT NULL;
UPDATE tombstones SET destroyed_at = strftime('%Y-%m-%dT%H:%M:%fZ', destroyed_at)
    WHERE destroyed_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', destroyed_at) IS NOT NULL;
UPDATE approvals SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at)
    WHERE created_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', created_at) IS NOT NULL;
UPDATE approvals SET decided_at = strftime('%Y-%m-%dT%H:%M:%fZ', decided_at)
    WHERE decided_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', decided_at) IS NOT NULL;
UPDATE approvals SET applied_at = strftime('%Y-%m-%dT%H:%M:%fZ', applied_at)
    WHERE applied_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', applied_at) IS NOT NULL;
