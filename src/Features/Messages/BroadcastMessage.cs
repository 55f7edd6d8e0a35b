using FluentValidation;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// <c>send</c> with <c>to: "*"</c>: one message to every live agent but the sender, one row per recipient, written in
/// one transaction and all carrying the same <c>broadcast_id</c> (the first row's id), so each recipient knows it was a
/// broadcast and the dashboard shows it once. An agent with <c>allowed_recipients</c> reaches those of them that are live,
/// and the manager.
/// </summary>
public static class BroadcastMessage
{
    public const string Everyone = "*";

    public sealed record Command(string From, string? Body, string? ClientId = null, long? InReplyTo = null) : IRequest<Result>, IChangesState;

    /// <summary>The broadcast's id and its messages, one per recipient.</summary>
    public sealed record Result(long BroadcastId, IReadOnlyList<MessageView> Messages);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Body).BoundedText("body", SendMessage.MaxBodyBytes);
            RuleFor(c => c.ClientId).NotEmpty().MaximumLength(SendMessage.MaxClientIdLength).When(c => c.ClientId is not null)
                .WithMessage($"client_id must be 1 to {SendMessage.MaxClientIdLength} characters");
            RuleFor(c => c.InReplyTo).GreaterThan(0).When(c => c.InReplyTo is not null).WithMessage("in_reply_to must be a message id");
        }
    }

    internal sealed class Handler(
        StateChanges changes, MessageWriter writer, InboxSignals signals, IFileRefScanner fileRefs, TimeProvider clock, IDb db, IAgentDirectory agents,
        IRecipientPolicy policy, MessageBudget hourly)
        : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            await SendMessage.CheckReplyAsync(db, command.From, command.InReplyTo, cancellationToken);
            // "Everyone" an agent may reach: with allowed_recipients, those (and the manager).
            var recipients = agents.List().Select(a => a.Name).Where(name => name != command.From && policy.MayReach(command.From, name)).ToList();
            if (recipients.Count == 0) throw new ConflictException("there is no live agent to broadcast to");
            var change = changes.Current;
            var counted = hourly.Take(change, command.From, command.Body!, recipients.Count); // stored once per recipient
            var draft = new MessageWriter.Draft(command.From, recipients[0], MessageKinds.Message, command.Body!, clock.GetUtcNow(), command.ClientId, command.InReplyTo);
            // As a send: group-committed by the writer, all rows in its one transaction, announced after that commit.
            var stored = await writer.AppendBroadcastAsync(draft, recipients);
            var messages = stored.Broadcast!.Select(r => r.View(fileRefs)).ToList();
            var result = new Result(stored.Row.BroadcastId ?? stored.Row.Id, messages);
            if (stored.Duplicate)
            {
                hourly.Budget.GiveBack(command.From, counted); // stored nothing
                return result; // a retry: announced when it was stored
            }
            foreach (var message in messages) change.Raise(new MessageSent(message));
            change.AfterPublished(() =>
            {
                foreach (var message in messages) signals.Announced(message.To, message.Id);
            });
            return result;
        }
    }
}
