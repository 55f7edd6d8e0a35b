using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// <c>request_next_turn</c>: an agent asks to be woken again without waiting for anyone else. A message from the agent
/// to itself (<c>kind: "next_turn"</c>, body <c>continue</c>), durable and delivered like any other, so a harness that
/// wakes its agent on <c>recv</c> runs another turn. At most one waits at a time: asking again while one is still
/// queued or in flight returns that one (a loop asking every turn cannot pile them up).
/// </summary>
public static class RequestNextTurn
{
    public sealed record Command(string Agent) : IRequest<Result>, IChangesState;

    /// <param name="Queued">False when an earlier request was still waiting and is the one returned.</param>
    public sealed record Result(long Id, bool Queued);

    internal sealed class Handler(StateChanges changes, IMediator mediator) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            // Read in the change's write transaction: two racing requests cannot both see none waiting.
            var waiting = change.QuerySingleOrDefault<long?>($"""
                SELECT id FROM messages
                WHERE recipient = @Agent AND sender = @Agent AND kind = '{MessageKinds.NextTurn}'
                  AND delivered_at IS NULL AND undeliverable_at IS NULL
                ORDER BY id LIMIT 1
                """, command);
            if (waiting is { } id) return new Result(id, false);
            var appended = await mediator.Send(new AppendMessages.Command(
                [new AppendMessages.Draft(command.Agent, command.Agent, MessageKinds.NextTurn, "continue", null)]), cancellationToken);
            return new Result(appended[0].Id, true);
        }
    }
}
