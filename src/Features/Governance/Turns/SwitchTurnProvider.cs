using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance;

/// <summary>
/// A call of an agent with a provider chain moves to the next provider before anything has happened in its turn (the
/// gateway has looked: the conversation holds nothing a model wrote). The running turn is on <see cref="Command.To"/> from
/// now, its row says so, and the switch is recorded (intervention, event, row) in this change. Without a running turn (an
/// ungoverned agent) only a move away from where the agent last was is recorded. False when there was nothing to record.
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
            if (turn is null)
            {
                if (routes.Of(command.Agent)?.Provider == command.To) return false;
                await routes.RecordAsync(change, rows, command.Agent, null, command.From, command.To, command.Reason);
                return true;
            }
            if (turn.Provider == command.To) return false; // a call beside it moved the turn already
            var before = turn.Provider;
            turn.Provider = command.To;
            change.OnRolledBack(() => turn.Provider = before);
            change.Execute("UPDATE governed_turns SET provider = @To WHERE id = @TurnId", new { command.To, turn.TurnId });
            await routes.RecordAsync(change, rows, command.Agent, turn.TurnId, before, command.To, command.Reason);
            return true;
        }
    }
}
