using Dapper;
using FluentValidation;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Constellation;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Search;
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
        public Validator(IAgentDirectory agents, IRecipientPolicy recipients, IConstellation constellation)
        {
            RuleFor(c => c.To).NotEmpty().WithMessage("to is required");
            // bob@<own name> is bob; with no constellation an address with @ stays what it was: no agent of that name.
            RuleFor(c => constellation.Local(c.To)).Cascade(CascadeMode.Stop)
                .KnownRecipient(agents)
                .AllowedFor(recipients, c => c.From)
                .OverridePropertyName(nameof(Command.To))
                .When(c => !string.IsNullOrEmpty(c.To) && !constellation.IsRemote(c.To));
            // Another hive's agent: whether it exists is that hive's to say (an undeliverable notice comes back); the
            // sender's allowed_recipients still apply here (an entry may name bob@b).
            RuleFor(c => c.To).AllowedFor(recipients, c => c.From).When(c => constellation.IsRemote(c.To));
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

    internal sealed class Handler(
        StateChanges changes, MessageWriter writer, InboxSignals signals, IFileRefScanner fileRefs, TimeProvider clock, IDb db,
        IConstellation constellation, IMediator mediator, ISearchIndex search, MessageBudget hourly)
        : IRequestHandler<Command, MessageView>
    {
        public async Task<MessageView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (constellation.IsRemote(command.To)) return await SendToHiveAsync(command, cancellationToken);
            command = command with { To = constellation.Local(command.To) };
            // The one state change that does not write through the change's own transaction: sends from many agents
            // at once are group-committed by MessageWriter (its INSERT is there), many per transaction, and each is
            // acknowledged after its batch commits. Measured in NOTES.md (broker bench): it is what keeps a send's cost
            // near a raw single-row transaction. The change still holds the gate and publishes `sent` after that commit.
            await CheckReplyAsync(db, command.From, command.InReplyTo, cancellationToken);
            var change = changes.Current;
            var counted = hourly.Take(change, command.From, command.Body!);
            var draft = new MessageWriter.Draft(command.From, command.To!, MessageKinds.Message, command.Body!, clock.GetUtcNow(), command.ClientId, command.InReplyTo);
            // Once queued the message will commit; wait for that regardless of the caller going away, so the event is
            // never lost for a stored message.
            var (row, duplicate, _) = await writer.AppendAsync(draft);
            var message = row.View(fileRefs);
            if (duplicate)
            {
                hourly.Budget.GiveBack(command.From, counted); // stored nothing
                return message; // a retry: the first send's message, announced when it was stored
            }
            change.Raise(new MessageSent(message));
            change.AfterPublished(() => signals.Announced(message.To, message.Id));
            return message;
        }

        /// <summary>
        /// To an agent of another hive: the message row and the Constellation's outbox row in this change's one transaction
        /// (not the group commit, which has its own), so a send acknowledged is a send the relay will publish; nothing here
        /// waits for the network. The row is delivered as far as this hive goes (nobody here receives it).
        /// </summary>
        private async Task<MessageView> SendToHiveAsync(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO messages (sender, recipient, kind, body, sent_at, delivered_at, client_id, in_reply_to)
                VALUES (@From, @To, @Kind, @Body, @SentAt, @SentAt, @ClientId, @InReplyTo)
                ON CONFLICT (sender, client_id) WHERE client_id IS NOT NULL DO NOTHING
                RETURNING {MessageRow.Columns};
                """;
            const string earlier = $"SELECT {MessageRow.Columns} FROM messages WHERE sender = @From AND client_id = @ClientId";
            await CheckReplyAsync(db, command.From, command.InReplyTo, cancellationToken);
            var change = changes.Current;
            var args = new { command.From, command.To, Kind = MessageKinds.Message, command.Body, SentAt = clock.GetUtcNow(), command.ClientId, command.InReplyTo };
            var counted = hourly.Take(change, command.From, command.Body!);
            if (change.QuerySingleOrDefault<MessageRow>(insert, args) is not { } row)
            {
                hourly.Budget.GiveBack(command.From, counted);
                return change.QuerySingle<MessageRow>(earlier, args).View(fileRefs); // a retry: stored and relayed the first time
            }
            var message = row.View(fileRefs);
            await mediator.Send(new RelayToHive(message.Id, message.From, message.To, message.Body, message.SentAt), cancellationToken);
            change.AfterPublished(search.Wake);
            change.Raise(new MessageSent(message));
            return message;
        }
    }
}
