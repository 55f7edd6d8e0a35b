using System.Text.Json;
using Dapper;
using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Json;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Messages;

/// <summary>
/// <see cref="AppendMessage"/> for a batch: every system message of the batch and the caller's change commit in ONE
/// transaction (all or none), so a burst of system messages (10 000 reminders falling due at once) costs one commit
/// and shares its pages instead of one commit each. After the commit: every <c>sent</c>, in order, then the caller's
/// notifications, in order.
/// </summary>
public static class AppendMessages
{
    public sealed record Draft(string From, string To, string Kind, string Body, IReadOnlyDictionary<string, object?>? Extra);

    public delegate Task<IReadOnlyList<INotification>> TransactionalChange(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<MessageView> messages);

    public sealed record Command(IReadOnlyList<Draft> Drafts, TransactionalChange? WithinTransaction) : IRequest<IReadOnlyList<MessageView>>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleForEach(c => c.Drafts).ChildRules(d =>
            {
                d.RuleFor(x => x.To).KnownRecipient(agents);
                d.RuleFor(x => x.Kind).NotEmpty();
                d.RuleFor(x => x.Body).NotNull();
            });
        }
    }

    internal sealed class Handler(
        IDb db,
        InboxSignals signals,
        StateChangeGate gate,
        IMediator mediator,
        IFileRefScanner fileRefs,
        TimeProvider clock) : IRequestHandler<Command, IReadOnlyList<MessageView>>
    {
        public async Task<IReadOnlyList<MessageView>> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO messages (sender, recipient, kind, body, sent_at, meta)
                VALUES (@From, @To, @Kind, @Body, @SentAt, @Meta)
                RETURNING {MessageRow.Columns};
                """;
            var rows = new List<MessageRow>(command.Drafts.Count);
            var messages = new List<MessageView>(command.Drafts.Count);
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                IReadOnlyList<INotification> alsoPublish = [];
                using (var connection = db.Open())
                using (var transaction = connection.BeginTransaction())
                {
                    var now = clock.GetUtcNow();
                    foreach (var draft in command.Drafts)
                    {
                        var meta = draft.Extra is { Count: > 0 } extra ? JsonSerializer.Serialize(extra, HiveJson.Options) : null;
                        rows.Add(connection.Query<MessageRow>(insert,
                            new { draft.From, draft.To, draft.Kind, draft.Body, SentAt = now, Meta = meta }, transaction).Single());
                    }
                    // Views without file refs for the callback (ids are what it needs); the scan runs after the commit.
                    if (command.WithinTransaction is { } change)
                        alsoPublish = await change(connection, transaction, rows.Select(r => r.View(NoFileRefs.Instance)).ToList());
                    transaction.Commit();
                }
                foreach (var row in rows)
                {
                    var message = row.View(fileRefs);
                    messages.Add(message);
                    await mediator.Publish(new MessageSent(message), CancellationToken.None);
                }
                foreach (var notification in alsoPublish) await mediator.Publish(notification, CancellationToken.None);
            }
            foreach (var to in messages.Select(m => m.To).Distinct()) signals.Notify(to);
            return messages;
        }
    }
}

/// <summary>A message's view inside its own transaction (the caller needs its id, not its refs).</summary>
internal sealed class NoFileRefs : IFileRefScanner
{
    public static readonly NoFileRefs Instance = new();
    public IReadOnlyList<string> Scan(string? text) => [];
}
