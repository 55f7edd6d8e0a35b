using Dapper;
using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
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

    internal sealed class Handler(
        IDb db,
        InboxSignals signals,
        StateChangeGate gate,
        IMediator mediator,
        IFileRefScanner fileRefs,
        TimeProvider clock) : IRequestHandler<Query, MessageView?>
    {
        public async Task<MessageView?> Handle(Query query, CancellationToken cancellationToken)
        {
            var deadline = clock.GetTimestamp() + (long)(query.WaitMs.GetValueOrDefault() * (clock.TimestampFrequency / 1000.0));
            while (true)
            {
                var arrival = signals.Current(query.Agent); // before the look, so an arrival in between still wakes us
                var message = await TryTakeAsync(query.Agent, cancellationToken);
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

        private async Task<MessageView?> TryTakeAsync(string agent, CancellationToken cancellationToken)
        {
            const string take = $"""
                UPDATE messages SET delivered_at = @Now
                WHERE id = (SELECT id FROM messages WHERE recipient = @Agent AND delivered_at IS NULL ORDER BY id LIMIT 1)
                RETURNING {MessageRow.Columns};
                """;
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                MessageRow? row;
                using (var connection = db.Open())
                using (var transaction = connection.BeginTransaction()) // IMMEDIATE: concurrent takers queue on the write lock
                {
                    // Query (buffered) reads the RETURNING statement to its end, so the WAL can checkpoint.
                    row = (await connection.QueryAsync<MessageRow>(new CommandDefinition(take,
                        new { Agent = agent, Now = clock.GetUtcNow() }, transaction, cancellationToken: CancellationToken.None))).SingleOrDefault();
                    transaction.Commit();
                }
                if (row is null) return null;
                var message = row.View(fileRefs);
                await mediator.Publish(new MessageDelivered(message), CancellationToken.None);
                return message;
            }
        }
    }
}
