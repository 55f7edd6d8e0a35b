using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// A call of an agent with a provider chain moves to the next provider before anything has happened in its turn (the
/// gateway has looked: the conversation holds nothing a model wrote). The running turn is on <see cref="Command.To"/> from
/// now, its row says so, and the switch is recorded (intervention, event, row) in this change. False when there was nothing
/// to move: the turn ended meanwhile, or a call beside this one moved it already.
/// </summary>
public static class SwitchTurnProvider
{
    public sealed record Command(string Agent, string From, string To, string Reason) : IRequest<bool>, IChangesState;

    internal sealed class Handler(StateChanges changes, Admission admission, ProviderRoutes routes, GovernedRows rows) : IRequestHandler<Command, bool>
    {
        public async Task<bool> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var turn = admission.RunningOf(command.Agent);
            if (turn is null || turn.Provider == command.To) return false;
            var before = turn.Provider;
            turn.Provider = command.To;
            change.OnRolledBack(() => turn.Provider = before);
            change.Execute("UPDATE governed_turns SET provider = @To WHERE id = @TurnId", new { command.To, turn.TurnId });
            await routes.RecordAsync(change, rows, command.Agent, turn.TurnId, before, command.To, command.Reason);
            return true;
        }
    }
}
