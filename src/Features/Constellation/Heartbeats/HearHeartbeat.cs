using System.Collections.Concurrent;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Constellation;

/// <summary>
/// A heartbeat heard: recorded as the hive's latest (reachable again if it had gone quiet) in one change, which tells the
/// dashboard. A beat that is malformed, or published by a user other than the hive it names, is dropped and logged (once a
/// minute per user: a hive cannot flood the log).
/// </summary>
public static class HearHeartbeat
{
    /// <param name="UserId">The AMQP <c>user-id</c>, which RabbitMQ checked against the publishing connection's user.</param>
    public sealed record Command(string? UserId, byte[] Body) : IRequest<bool>, IChangesState;

    internal sealed class Handler(
        StateChanges changes, ConstellationState state, ConstellationOptions options, MailOutboxSignal signal, RefusedBeats refused, TimeProvider clock,
        ILogger<Handler> logger)
        : IRequestHandler<Command, bool>
    {
        public Task<bool> Handle(Command command, CancellationToken cancellationToken)
        {
            var beat = Heartbeat.Parse(command.Body);
            if (beat is null || beat.Hive != command.UserId)
            {
                if (refused.ShouldLog(command.UserId ?? "", clock.GetUtcNow()))
                    logger.LogWarning("constellation heartbeat: dropped a beat published by user {User} ({Why})", command.UserId,
                        beat is null ? "not a heartbeat" : $"it names hive {beat.Hive}");
                return Task.FromResult(false);
            }
            var change = changes.Current;
            change.Execute("""
                INSERT INTO constellation_hives (name, public_url, heartbeat_seconds, beat, first_heard_at, last_heard_at, reachable)
                VALUES (@Hive, @PublicUrl, @HeartbeatSeconds, @json, @now, @now, 1)
                ON CONFLICT (name) DO UPDATE SET public_url = excluded.public_url, heartbeat_seconds = excluded.heartbeat_seconds,
                    beat = excluded.beat, last_heard_at = excluded.last_heard_at, reachable = 1
                """, new { beat.Hive, beat.PublicUrl, beat.HeartbeatSeconds, json = System.Text.Encoding.UTF8.GetString(beat.ToJson()), now = clock.GetUtcNow() });
            change.Raise(new ConstellationHiveChanged(state.Find(change, beat.Hive)!));
            if (beat.Missing?.GetValueOrDefault(options.Name!) is { } missing) PublishAgain(change, beat, missing);
            return Task.FromResult(true);
        }

        /// <summary>
        /// The hive says it misses mail this one had confirmed by the broker: what was confirmed long enough ago (half the
        /// reorder window, by this hive's clock: time enough to have arrived) goes back into the outbox, to be published again in order.
        /// A copy of mail that was only slow is dropped by its global id.
        /// </summary>
        private void PublishAgain(StateChange change, Heartbeat beat, MissingMail missing)
        {
            var again = change.Query<long>("""
                UPDATE constellation_outbox SET sent_at = NULL
                WHERE destination = @Hive AND seq BETWEEN @From AND @Through AND sent_at IS NOT NULL AND sent_at <= @cutoff
                RETURNING id
                """, new
            {
                beat.Hive, missing.From, missing.Through,
                cutoff = clock.GetUtcNow() - TimeSpan.FromSeconds(options.ReorderWindowSeconds / 2.0)
            }).Count;
            if (again == 0) return;
            logger.LogWarning("constellation relay: hive {Hive} misses mail numbered {From} to {Through}, which the broker confirmed; {Count} rows are published again",
                beat.Hive, missing.From, missing.Through, again);
            change.AfterPublished(signal.Wake);
        }
    }

    /// <summary>When each user's dropped beat was last logged.</summary>
    internal sealed class RefusedBeats
    {
        private readonly ConcurrentDictionary<string, DateTimeOffset> _logged = new(StringComparer.Ordinal);

        public bool ShouldLog(string user, DateTimeOffset now)
        {
            if (_logged.TryGetValue(user, out var last) && now - last < TimeSpan.FromMinutes(1)) return false;
            _logged[user] = now;
            if (_logged.Count > 1_000) _logged.Clear(); // users are few; a bound all the same
            return true;
        }
    }
}
