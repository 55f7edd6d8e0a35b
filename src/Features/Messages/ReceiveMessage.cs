using FluentValidation;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Messages;

/// <summary>
/// An agent takes its oldest available messages, waiting up to <c>wait_ms</c> for one. A message handed out is in
/// flight until the agent acknowledges it (<see cref="AcknowledgeMessage"/>); not acknowledged within the ack timeout
/// it is available again and handed out flagged <c>redelivered</c> — at least once, never lost with a crashed agent.
/// After <c>MaxDeliveries</c> hand-outs it is set aside as undeliverable and the operator is told.
/// </summary>
public static class ReceiveMessage
{
    public const int MaxWaitMs = 30_000;
    public const int MaxBatch = 32;

    /// <param name="Ack">A message to acknowledge first: acknowledge and receive in one round trip.</param>
    public sealed record Query(string Agent, int? WaitMs, long? Ack = null, int Max = 1) : IRequest<Result>;

    /// <summary>What was handed out (oldest first), in flight until <see cref="InFlightUntil"/>.</summary>
    public sealed record Result(IReadOnlyList<MessageView> Messages, DateTimeOffset InFlightUntil);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.WaitMs).InclusiveBetween(0, MaxWaitMs).When(q => q.WaitMs is not null)
                .WithMessage($"wait_ms must be between 0 and {MaxWaitMs}");
            RuleFor(q => q.Max).InclusiveBetween(1, MaxBatch).WithMessage($"max must be between 1 and {MaxBatch}");
            RuleFor(q => q.Ack).GreaterThan(0).When(q => q.Ack is not null).WithMessage("ack must be a message id");
        }
    }

    /// <summary>The long-poll: not a change itself, so it never holds the gate while it waits; each look is one.</summary>
    internal sealed class Handler(
        IMediator mediator, InboxSignals signals, TimeProvider clock, IWorkHolds holds, MessagesMetrics metrics, IFileRefScanner fileRefs) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            if (query.Ack is { } ack) await mediator.Send(new AcknowledgeMessage.Command(query.Agent, ack), cancellationToken);

            var deadline = clock.GetTimestamp() + (long)(query.WaitMs.GetValueOrDefault() * (clock.TimestampFrequency / 1000.0));
            while (true)
            {
                // Halted or paused: nothing is handed out (the messages wait, unacknowledged); the wait still runs its course.
                if (holds.HeldFor(query.Agent) is not null && !await WaitUntilFreeAsync(query.Agent, deadline, cancellationToken))
                    return new Result([], clock.GetUtcNow());
                var arrival = signals.Current(query.Agent); // before the look, so an arrival in between still wakes us
                var look = await mediator.Send(new TakeOldest(query.Agent, query.Max), cancellationToken);
                if (look.Messages.Count > 0) return new Result(look.Messages, look.InFlightUntil);

                var remaining = clock.GetElapsedTime(clock.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero) return new Result([], look.InFlightUntil);
                // A message in flight whose ack timeout passes becomes available with no commit to signal it: wake then too.
                if (look.NextExpiry is { } expiry && expiry - clock.GetUtcNow() is var untilExpiry && untilExpiry < remaining)
                    remaining = untilExpiry > TimeSpan.Zero ? untilExpiry : TimeSpan.FromMilliseconds(1);
                if (await ParkAsync(query, arrival, remaining, cancellationToken) is { } handed) return handed;
            }
        }

        /// <summary>
        /// Waits for an arrival, parked where the writer can claim it and hand it the messages it stores; null: look again.
        /// </summary>
        private async Task<Result?> ParkAsync(Query query, Task arrival, TimeSpan remaining, CancellationToken cancellationToken)
        {
            var wakeAt = clock.GetTimestamp() + (long)(remaining.TotalSeconds * clock.TimestampFrequency);
            var parked = signals.Park(query.Agent, query.Max);
            using var _ = metrics.Park(query.Agent);
            try
            {
                try
                {
                    await WaitAsync(parked is null ? arrival : Task.WhenAny(arrival, parked.Ready), remaining, cancellationToken);
                }
                catch (OperationCanceledException) when (parked is not null && !parked.TryWithdraw())
                {
                    // Claimed as the agent hung up: answered all the same, so the unwritten reply's undo puts them back in line.
                }
                if (parked is null || parked.TryWithdraw()) return null;
                return await HandedOverAsync(query.Agent, parked, arrival, wakeAt, cancellationToken);
            }
            finally
            {
                parked?.TryWithdraw(); // no claim after this recv is gone
                if (parked is not null) signals.Unpark(parked);
            }
        }

        /// <summary>
        /// A claimed recv's answer: what the writer handed over, once each message's <c>sent</c> is out, past the recv's
        /// deadline if need be (never answered before it), but not past the ack timeout: a <c>sent</c> that never comes
        /// (its change failed after the commit) leaves the messages to come out of flight, handed out again flagged.
        /// </summary>
        /// <param name="wakeAt">When the park ends anyway: the recv's deadline, or sooner a message's ack timeout.</param>
        private async Task<Result?> HandedOverAsync(string agent, ParkedReceiver parked, Task arrival, long wakeAt, CancellationToken cancellationToken)
        {
            var handed = await parked.Handed; // the writer ends its part with its transaction
            if (handed.Rows.Count == 0)
            {
                // An older message is the take's to hand out, or the batch rolled back: look again once a `sent` is out.
                await WaitAsync(arrival, clock.GetElapsedTime(clock.GetTimestamp(), wakeAt), cancellationToken);
                return null;
            }
            var untilRedelivery = handed.InFlightUntil - clock.GetUtcNow();
            if (untilRedelivery <= TimeSpan.Zero || !await WaitAsync(parked.Ready, untilRedelivery, CancellationToken.None)) return null;
            if (holds.HeldFor(agent) is not null)
            {
                // Paused or halted since the claim: the messages wait in line for the hold to lift, as a take would leave them.
                await mediator.Send(new ReturnMessage.Command(agent, handed.Rows.Select(r => r.Id).ToList(), handed.InFlightUntil), CancellationToken.None);
                return null;
            }
            metrics.CountHandedOver(agent);
            return new Result(handed.Rows.Select(r => r.View(fileRefs)).ToList(), handed.InFlightUntil);
        }

        /// <summary>False when <paramref name="remaining"/> ran out first.</summary>
        private async Task<bool> WaitAsync(Task task, TimeSpan remaining, CancellationToken cancellationToken)
        {
            if (remaining <= TimeSpan.Zero) return task.IsCompleted;
            try
            {
                await task.WaitAsync(remaining, clock, cancellationToken);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        /// <summary>True when the agent may work again before <paramref name="deadline"/>.</summary>
        private async Task<bool> WaitUntilFreeAsync(string agent, long deadline, CancellationToken cancellationToken)
        {
            var remaining = clock.GetElapsedTime(clock.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero) return false;
            using (metrics.Park(agent)) return await WaitAsync(holds.WhenFreeAsync(agent, cancellationToken), remaining, cancellationToken);
        }
    }

    /// <summary>The agent's messages neither acknowledged nor set aside.</summary>
    internal const string Pending = "recipient = @Agent AND delivered_at IS NULL AND undeliverable_at IS NULL";

    /// <summary>Pending and not in flight: never handed out, or its ack timeout passed.</summary>
    internal const string Available = $"{Pending} AND (in_flight_until IS NULL OR in_flight_until <= @Now)";

    /// <summary>Hands out the oldest <c>@Max</c> available messages, in flight until <c>@Until</c>, one delivery more each.</summary>
    internal const string HandOut = $"""
        UPDATE messages SET delivery_count = delivery_count + 1, in_flight_until = @Until
        WHERE id IN (SELECT id FROM messages WHERE {Available} ORDER BY id LIMIT @Max)
        """;

    /// <summary>One look: set aside what ran out of deliveries, then hand out the oldest available messages.</summary>
    internal sealed record TakeOldest(string Agent, int Max) : IRequest<Look>, IChangesState;

    internal sealed record Look(IReadOnlyList<MessageView> Messages, DateTimeOffset InFlightUntil, DateTimeOffset? NextExpiry);

    internal sealed class TakeOldestHandler(
        StateChanges changes, IMediator mediator, IFileRefScanner fileRefs, IOptions<MessagesOptions> options, TimeProvider clock)
        : IRequestHandler<TakeOldest, Look>
    {
        public async Task<Look> Handle(TakeOldest take, CancellationToken cancellationToken)
        {
            const string setAside = $"""
                UPDATE messages SET undeliverable_at = @Now, in_flight_until = NULL
                WHERE {Pending} AND in_flight_until <= @Now AND delivery_count >= @MaxDeliveries
                RETURNING {MessageRow.Columns};
                """;
            const string handOut = $"{HandOut} RETURNING {MessageRow.Columns};";
            const string nextExpiry = $"SELECT min(in_flight_until) FROM messages WHERE {Pending} AND in_flight_until > @Now";

            var change = changes.Current;
            var now = clock.GetUtcNow();
            var until = now + options.Value.AckTimeout;
            var args = new { take.Agent, Now = now, Until = until, take.Max, options.Value.MaxDeliveries };

            var undeliverable = change.Query<MessageRow>(setAside, args).OrderBy(r => r.Id).ToList();
            foreach (var row in undeliverable)
            {
                var message = row.View(fileRefs);
                change.Raise(new MessageUndeliverable(message));
                // Never silently dropped: the operator hears of it in the inbox, in this same change.
                await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(
                    AgentNames.Hive, AgentNames.Operator, MessageKinds.Undeliverable,
                    $"message {message.Id} from {message.From} to {message.To} was handed out {message.DeliveryCount} times " +
                    "without an acknowledgement and is set aside as undeliverable",
                    new Dictionary<string, object?> { ["message_id"] = message.Id, ["recipient"] = message.To })]), CancellationToken.None);
            }

            var handedOut = change.Query<MessageRow>(handOut, args).OrderBy(r => r.Id).Select(r => r.View(fileRefs)).ToList();
            var next = handedOut.Count > 0 ? null : change.QuerySingle<DateTimeOffset?>(nextExpiry, args);
            return new Look(handedOut, until, next);
        }
    }
}
