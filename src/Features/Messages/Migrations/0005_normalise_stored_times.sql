-- Times in the wire's text form (yyyy-MM-ddTHH:mm:ss.fffZ) everywhere: until session 5, rows written through a Dapper
-- parameter held SQLite's "yyyy-MM-dd HH:mm:ss.fffffff+00:00" instead, which sorts before the wire form on the same day,
-- so text comparisons between the two went wrong. Values already in the wire form are left alone.
UPDATE messages SET sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', sent_at)
    WHERE sent_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', sent_at) IS NOT NULL;
UPDATE messages SET delivered_at = strftime('%Y-%m-%dT%H:%M:%fZ', delivered_at)
    WHERE delivered_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', delivered_at) IS NOT NULL;
UPDATE messages SET in_flight_until = strftime('%Y-%m-%dT%H:%M:%fZ', in_flight_until)
    WHERE in_flight_until NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', in_flight_until) IS NOT NULL;
UPDATE messages SET undeliverable_at = strftime('%Y-%m-%dT%H:%M:%fZ', undeliverable_at)
    WHERE undeliverable_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%fZ', undeliverable_at) IS NOT NULL;
