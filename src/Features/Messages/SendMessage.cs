using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>An agent (over its socket) or the operator (over HTTP) sends a message.</summary>
public static class SendMessage
{
    public const int MaxBodyBytes = 1024;

    public const int MaxClientIdLength = 128;

    /// <param name="ClientId">Optional, per sender: a retried send with the same client id returns the first send's
    /// message and stores nothing (kept with the message, so for as long as the history is).</param>
    public sealed record Command(string From, string? To, string? Body, string? ClientId = null) : IRequest<MessageView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(c => c.To).Cascade(CascadeMode.Stop)
                .NotEmpty().WithMessage("to is required")
                .KnownRecipient(agents);
            RuleFor(c => c.To)
                .NotEqual(AgentNames.Operator).When(c => c.From == AgentNames.Operator)
                .WithMessage("the operator cannot message itself");
            RuleFor(c => c.Body).BoundedText("body", MaxBodyBytes);
            RuleFor(c => c.ClientId).NotEmpty().MaximumLength(MaxClientIdLength).When(c => c.ClientId is not null)
                .WithMessage($"client_id must be 1 to {MaxClientIdLength} characters");
        }
    }

    internal sealed class Handler(StateChanges changes, MessageWriter writer, InboxSignals signals, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<Command, MessageView>
    {
        public async Task<MessageView> Handle(Command command, CancellationToken cancellationToken)
        {
            // The one state change that does not write through the change's own transaction: sends from many agents
            // at once are group-committed by MessageWriter (its INSERT is there), many per transaction, and each is
            // acknowledged after its batch commits. Measured in NOTES.md (broker bench): it is what keeps a send's cost
            // near a raw single-row transaction. The change still holds the gate and publishes `sent` after that commit.
            var draft = new MessageWriter.Draft(command.From, command.To!, MessageKinds.Message, command.Body!, clock.GetUtcNow(), command.ClientId);
            // Once queued the message will commit; wait for that regardless of the caller going away, so the event is
            // never lost for a stored message.
            var (row, duplicate) = await writer.AppendAsync(draft);
            var message = row.View(fileRefs);
            if (duplicate) return message; // a retry: the first send's message, announced when it was stored
            var change = changes.Current;
            change.Raise(new MessageSent(message));
            change.AfterPublished(() => signals.Notify(message.To));
            return message;
        }
    }
}
