using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Dapper;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
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
    /// <param name="InReplyTo">Optional: the message this one answers, one the sender sent or received.</param>
    public sealed record Command(string From, string? To, string? Body, string? ClientId = null, long? InReplyTo = null)
        : IRequest<MessageView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents, IRecipientPolicy recipients)
        {
            RuleFor(c => c.To).Cascade(CascadeMode.Stop)
                .NotEmpty().WithMessage("to is required")
                .KnownRecipient(agents)
                .AllowedFor(recipients, c => c.From);
            RuleFor(c => c.To)
                .NotEqual(AgentNames.Operator).When(c => c.From == AgentNames.Operator)
                .WithMessage("the operator cannot message itself");
            RuleFor(c => c.Body).BoundedText("body", MaxBodyBytes);
            RuleFor(c => c.ClientId).NotEmpty().MaximumLength(MaxClientIdLength).When(c => c.ClientId is not null)
                .WithMessage($"client_id must be 1 to {MaxClientIdLength} characters");
            RuleFor(c => c.InReplyTo).GreaterThan(0).When(c => c.InReplyTo is not null).WithMessage("in_reply_to must be a message id");
        }
    }

    /// <summary>A reply names a message its sender sent or received (never someone else's conversation); else not_found.</summary>
    internal static async Task CheckReplyAsync(IDb db, string from, long? inReplyTo, CancellationToken ct)
    {
        if (inReplyTo is not { } id) return;
        using var connection = db.Open();
        var party = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM messages WHERE id = @id AND (sender = @from OR recipient = @from)", new { id, from }, cancellationToken: ct));
        if (party == 0) throw new NotFoundException($"in_reply_to: no message {id} that {from} sent or received");
    }

    internal sealed class Handler(StateChanges changes, MessageWriter writer, InboxSignals signals, IFileRefScanner fileRefs, TimeProvider clock, IDb db)
        : IRequestHandler<Command, MessageView>
    {
        public async Task<MessageView> Handle(Command command, CancellationToken cancellationToken)
        {
            // The one state change that does not write through the change's own transaction: sends from many agents
            // at once are group-committed by MessageWriter (its INSERT is there), many per transaction, and each is
            // acknowledged after its batch commits. Measured in NOTES.md (broker bench): it is what keeps a send's cost
            // near a raw single-row transaction. The change still holds the gate and publishes `sent` after that commit.
            await CheckReplyAsync(db, command.From, command.InReplyTo, cancellationToken);
            var draft = new MessageWriter.Draft(command.From, command.To!, MessageKinds.Message, command.Body!, clock.GetUtcNow(), command.ClientId, command.InReplyTo);
            // Once queued the message will commit; wait for that regardless of the caller going away, so the event is
            // never lost for a stored message.
            var (row, duplicate, _) = await writer.AppendAsync(draft);
            var message = row.View(fileRefs);
            if (duplicate) return message; // a retry: the first send's message, announced when it was stored
            var change = changes.Current;
            change.Raise(new MessageSent(message));
            change.AfterPublished(() => signals.Notify(message.To));
            return message;
        }
    }
}
