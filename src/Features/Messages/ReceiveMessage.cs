using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// An agent takes its oldest undelivered message, waiting up to <c>wait_ms</c> for one to arrive. Taking it marks it
/// delivered in the same statement, so each message is handed out exactly once.
/// </summary>
public static class ReceiveMessage
{
    public const int MaxWaitMs = 30_000;

    public sealed record Query(string Agent, int? WaitMs) : IRequest<MessageView?>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.WaitMs).InclusiveBetween(0, MaxWaitMs).When(q => q.WaitMs is not null)
                .WithMessage($"wait_ms must be between 0 and {MaxWaitMs}");
        }
    }

    /// <summary>The long-poll: not a change itself, so it never holds the gate while it waits; each look is one.</summary>
    internal sealed class Handler(IMediator mediator, InboxSignals signals, TimeProvider clock) : IRequestHandler<Query, MessageView?>
    {
        public async Task<MessageView?> Handle(Query query, CancellationToken cancellationToken)
        {
            var deadline = clock.GetTimestamp() + (long)(query.WaitMs.GetValueOrDefault() * (clock.TimestampFrequency / 1000.0));
            while (true)
            {
                var arrival = signals.Current(query.Agent); // before the look, so an arrival in between still wakes us
                var message = await mediator.Send(new TakeOldest(query.Agent), cancellationToken);
                if (message is not null) return message;

                var remaining = clock.GetElapsedTime(clock.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero) return null;
                try
                {
                    await arrival.WaitAsync(remaining, clock, cancellationToken);
                }
                catch (TimeoutException)
                {
                    // One last look below: a message may have landed just as the wait ran out.
                }
            }
        }
    }

    /// <summary>One look: claim the oldest undelivered message, if any.</summary>
    internal sealed record TakeOldest(string Agent) : IRequest<MessageView?>, IChangesState;

    internal sealed class TakeOldestHandler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<TakeOldest, MessageView?>
    {
        public Task<MessageView?> Handle(TakeOldest take, CancellationToken cancellationToken)
        {
            const string claim = $"""
                UPDATE messages SET delivered_at = @Now
                WHERE id = (SELECT id FROM messages WHERE recipient = @Agent AND delivered_at IS NULL ORDER BY id LIMIT 1)
                RETURNING {MessageRow.Columns};
                """;
            var change = changes.Current;
            var message = change.QuerySingleOrDefault<MessageRow>(claim, new { take.Agent, Now = clock.GetUtcNow() })?.View(fileRefs);
            if (message is not null) change.Raise(new MessageDelivered(message));
            return Task.FromResult(message);
        }
    }
}
