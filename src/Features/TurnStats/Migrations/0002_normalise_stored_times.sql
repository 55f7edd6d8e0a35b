-- Times in the wire's text form (yyyy-MM-ddTHH:mm:ss.fffZ) everywhere: until session 5, rows written through a Dapper
-- parameter held SQLite's "yyyy-MM-dd HH:mm:ss.fffffff+00:00" instead, which sorts before the wire form on the same day,
-- so text comparisons between the two went wrong. Values already in the wire form are left alone.
UPDATE turns SET recorded_at = strftime('%Y-%m-%dT%H:%M:%fZ', recorded_at)
    WHERE recorded_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', recorded_at) IS NOT NULL;
UPDATE turns SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', started_at)
    WHERE started_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', started_at) IS NOT NULL;
UPDATE turns SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', ended_at)
    WHERE ended_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', ended_at) IS NOT NULL;
