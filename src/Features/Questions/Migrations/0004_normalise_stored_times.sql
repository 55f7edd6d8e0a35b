-- Times in the wire's text form (yyyy-MM-ddTHH:mm:ss.fffZ) everywhere: until session 5, rows written through a Dapper
-- parameter held SQLite's "yyyy-MM-dd HH:mm:ss.fffffff+00:00" instead, which sorts before the wire form on the same day,
-- so text comparisons between the two went wrong. Values already in the wire form are left alone.
UPDATE questions SET asked_at = strftime('%Y-%m-%dT%H:%M:%fZ', asked_at)
    WHERE asked_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', asked_at) IS NOT NULL;
UPDATE questions SET answered_at = strftime('%Y-%m-%dT%H:%M:%fZ', answered_at)
    WHERE answered_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', answered_at) IS NOT NULL;
UPDATE questions SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', expires_at)
    WHERE expires_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', expires_at) IS NOT NULL;
