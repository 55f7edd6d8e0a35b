-- Times in the wire's text form (yyyy-MM-ddTHH:mm:ss.fffZ) everywhere: until session 5, rows written through a Dapper
-- parameter held SQLite's "yyyy-MM-dd HH:mm:ss.fffffff+00:00" instead, which sorts before the wire form on the same day,
-- so text comparisons between the two went wrong. Values already in the wire form are left alone.
UPDATE reminders SET due_at = strftime('%Y-%m-%dT%H:%M:%fZ', due_at)
    WHERE due_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', due_at) IS NOT NULL;
UPDATE reminders SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at)
    WHERE created_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', created_at) IS NOT NULL;
