using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// The recipient acknowledges a message it was handed: it is delivered (the <c>delivered</c> event fires now) and
/// never handed out again. Acknowledging twice is fine (agents retry); another agent's message is not found.
/// </summary>
public static class AcknowledgeMessage
{
    public sealed record Command(string Agent, long Id) : IRequest, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.Id).GreaterThan(0).WithMessage("id must be a message id");
    }

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            // Handed out at least once (delivery_count > 0), in flight or back in line after its timeout: either way the
            // agent has it, and acknowledging now saves a redelivery.
            const string ack = $"""
                UPDATE messages SET delivered_at = @Now, in_flight_until = NULL
                WHERE id = @Id AND recipient = @Agent AND delivered_at IS NULL AND undeliverable_at IS NULL AND delivery_count > 0
                RETURNING {MessageRow.Columns};
                """;
            var change = changes.Current;
            if (change.QuerySingleOrDefault<MessageRow>(ack, new { command.Id, command.Agent, Now = clock.GetUtcNow() }) is { } row)
            {
                change.Raise(new MessageDelivered(row.View(fileRefs)));
                return Unit.Task;
            }

            var state = change.QuerySingleOrDefault<AckState>(
                "SELECT delivered_at, undeliverable_at FROM messages WHERE id = @Id AND recipient = @Agent", command);
            return state switch
            {
                null => throw new NotFoundException($"no message {command.Id} for you"),
                { DeliveredAt: not null } => Unit.Task, // acknowledged before
                { UndeliverableAt: not null } => throw new ConflictException($"message {command.Id} was set aside as undeliverable"),
                _ => throw new ConflictException($"message {command.Id} has not been handed out yet: recv it first"),
            };
        }
    }

    private sealed record AckState(DateTimeOffset? DeliveredAt, DateTimeOffset? UndeliverableAt);
}
