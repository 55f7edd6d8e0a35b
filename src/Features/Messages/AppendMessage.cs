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

    /// <summary>A batch of one: <see cref="AppendMessages"/> validates, commits and publishes.</summary>
    internal sealed class Handler(IMediator mediator) : IRequestHandler<Command, MessageView>
    {
        public async Task<MessageView> Handle(Command command, CancellationToken cancellationToken)
        {
            AppendMessages.TransactionalChange? change = command.WithinTransaction is { } single
                ? (connection, transaction, messages) => single(connection, transaction, messages[0])
                : null;
            var messages = await mediator.Send(new AppendMessages.Command(
                [new AppendMessages.Draft(command.From, command.To, command.Kind, command.Body, command.Extra)], change), cancellationToken);
            return messages[0];
        }
    }
}
