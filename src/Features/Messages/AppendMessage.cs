using System.Text.Json;
using Dapper;
using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Json;
using MediatR;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Messages;

/// <summary>
/// A system message from a feature above (a due reminder, an answer), committed in ONE transaction with that
/// feature's own change to its own tables (<see cref="Command.WithinTransaction"/>): either both land or neither.
/// The notifications the caller returns are published after the commit, in the same state change as <c>sent</c>.
/// </summary>
public static class AppendMessage
{
    /// <summary>Runs inside the message's transaction, after the insert; returns what to publish after the commit.</summary>
    public delegate Task<IReadOnlyList<INotification>> TransactionalChange(SqliteConnection connection, SqliteTransaction transaction, MessageView message);

    public sealed record Command(
        string From,
        string To,
        string Kind,
        string Body,
        IReadOnlyDictionary<string, object?>? Extra,
        TransactionalChange? WithinTransaction) : IRequest<MessageView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(c => c.To).Must(to => to == AgentNames.Operator || agents.IsAgent(to))
                .WithMessage(c => $"no agent named {c.To}").WithErrorCode(Hive.Shared.Errors.ErrorCodes.NotFound);
            RuleFor(c => c.Kind).NotEmpty();
            RuleFor(c => c.Body).NotNull();
        }
    }

    internal sealed class Handler(
        IDb db,
        InboxSignals signals,
        StateChangeGate gate,
        IMediator mediator,
        IFileRefScanner fileRefs,
        TimeProvider clock) : IRequestHandler<Command, MessageView>
    {
        public async Task<MessageView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO messages (sender, recipient, kind, body, sent_at, meta)
                VALUES (@From, @To, @Kind, @Body, @SentAt, @Meta)
                RETURNING {MessageRow.Columns};
                """;
            MessageView message;
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                IReadOnlyList<INotification> alsoPublish = [];
                MessageRow row;
                using (var connection = db.Open())
                using (var transaction = connection.BeginTransaction())
                {
                    var meta = command.Extra is { Count: > 0 } extra ? JsonSerializer.Serialize(extra, HiveJson.Options) : null;
                    row = connection.Query<MessageRow>(insert,
                        new { command.From, command.To, command.Kind, command.Body, SentAt = clock.GetUtcNow(), Meta = meta }, transaction).Single();
                    if (command.WithinTransaction is { } change) alsoPublish = await change(connection, transaction, row.View(NoFileRefs.Instance));
                    transaction.Commit();
                }
                // The file-ref scan touches the disk: after the commit, not while holding the database's write lock.
                message = row.View(fileRefs);
                await mediator.Publish(new MessageSent(message), CancellationToken.None);
                foreach (var notification in alsoPublish) await mediator.Publish(notification, CancellationToken.None);
            }
            signals.Notify(message.To);
            return message;
        }
    }
}

/// <summary>A message's view inside its own transaction (the caller needs its id, not its refs).</summary>
internal sealed class NoFileRefs : IFileRefScanner
{
    public static readonly NoFileRefs Instance = new();
    public IReadOnlyList<string> Scan(string? text) => [];
}
