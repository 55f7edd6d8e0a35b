using Hive.Contracts.Gateway;
using Hive.Features.Containers;
using Hive.Features.Governance;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// A replay ends with its agent's turn: <c>identical</c> when every recorded call was answered and nothing differed,
/// <c>diverged</c> when a call differed or the turn ended before the recording did. Its agent is then stopped (it has no
/// recording left to be answered from), and stays, stopped, for the operator to look at and destroy.
/// </summary>
internal sealed class EndReplayWithItsTurn(ActiveReplays replays, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock,
    ILogger<EndReplayWithItsTurn> logger) : INotificationHandler<TurnEnded>
{
    public async Task Handle(TurnEnded notification, CancellationToken cancellationToken)
    {
        if (replays.Stop(notification.Agent) is not { } replay) return;
        await changes.RunAsync(scopes, (change, _) =>
        {
            var row = ReplayRow.Read(change.Connection, replay.Id, change.Transaction)!;
            var divergence = row.Divergence;
            if (divergence is null && replay.Replayed < row.CallsRecorded)
                divergence = new Divergence(replay.Replayed + 1, 0,
                    [new RequestDifference("$", $"{row.CallsRecorded} recorded calls", $"the replayed turn ended after {replay.Replayed} ({notification.Reason})")]);
            var state = divergence is null ? ReplayStates.Identical : ReplayStates.Diverged;
            change.Execute("""
                UPDATE replays SET state = @state, calls_replayed = @Replayed, divergence = @divergence, ended_at = @now WHERE id = @Id
                """, new { state, replay.Replayed, divergence = divergence is null ? null : ReplayRow.Serialize(divergence), now = clock.GetUtcNow(), replay.Id });
            change.Raise(new ReplayChanged(ReplayRow.Read(change.Connection, replay.Id, change.Transaction)!));
            return Task.CompletedTask;
        }, CancellationToken.None);
        // Not inside this turn's end: a stop waits for the agent's harness, which may still be finishing this very turn.
        _ = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new StopAgent.Command(replay.Agent), CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning("gateway: could not stop {Agent} after its replay ended: {Error}", replay.Agent, e.Message);
            }
        }, CancellationToken.None);
    }
}

/// <summary>A replay's agent destroyed: its name is free again; a replay it had not finished has failed.</summary>
internal sealed class ReleaseReplayAgent(ActiveReplays replays, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock)
    : INotificationHandler<AgentRemoved>
{
    public async Task Handle(AgentRemoved notification, CancellationToken cancellationToken)
    {
        if (replays.ReplayOf(notification.Name) is not { } replay) return;
        replays.Release(notification.Name);
        await changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("""
                UPDATE replays SET released = 1,
                    state = CASE state WHEN 'running' THEN 'failed' ELSE state END,
                    note = CASE state WHEN 'running' THEN 'its agent was destroyed before the replayed turn ended' ELSE note END,
                    ended_at = coalesce(ended_at, @now)
                WHERE id = @Replay
                """, new { replay.Replay, now = clock.GetUtcNow() });
            change.Raise(new ReplayChanged(ReplayRow.Read(change.Connection, replay.Replay, change.Transaction)!));
            return Task.CompletedTask;
        }, CancellationToken.None);
    }
}

/// <summary>At start-up: a replay the last host life left running cannot go on (its place in the recording is lost): failed.</summary>
internal static class FailInterruptedReplays
{
    public sealed record Command(DateTimeOffset At) : IRequest<int>, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Command, int>
    {
        public Task<int> Handle(Command command, CancellationToken cancellationToken) =>
            Task.FromResult(changes.Current.Execute("""
                UPDATE replays SET state = 'failed', note = 'the host stopped while it ran', ended_at = @At WHERE state = 'running'
                """, command));
    }
}
