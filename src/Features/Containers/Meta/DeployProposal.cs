using Hive.Contracts.Agents;
using Hive.Features.Containers.Runtime;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// An approved configuration change deployed: its file goes on <c>main</c> and exactly this agent is rebuilt (transient
/// <c>rebuilding</c>: stopped, its registry row set from the file, started); a change of only its egress rules is set on
/// its row without a restart (the egress proxy reads them at each connection). A configuration that does not start leaves
/// the agent and <c>main</c> as they were and says so (<c>failed/&lt;id&gt;</c>, a <c>config_failed</c> message to the
/// requester). Written to be run again from the top by the next start-up when a host died anywhere inside it: the commit is
/// made only if <c>main</c> is still on the proposal's base (a deploy that got past it finds the file applied); a file that
/// moved on meanwhile (a hand edit, another deploy) is not overwritten: the deploy fails as stale. Sent once the approval
/// committed; waits the agent's turn.
/// </summary>
internal static class DeployProposal
{
    public sealed record Command(string Name, string RequestedBy, long ApprovalId, string? BaseCommit) : IRequest;

    /// <summary>The key a deploy is sent with (<see cref="BackgroundRequests"/>), so a caller can wait for it.</summary>
    public static string Key(long approvalId) => $"deploy {approvalId}";

    public const string AgentGoneReason = "the agent was destroyed before its new configuration was deployed";

    internal sealed class Handler(
        AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, MetaRepo meta, MetaProposals proposals, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock, ILogger<Handler> logger)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var (name, approvalId, baseCommit) = (command.Name, command.ApprovalId, command.BaseCommit);
            using var turn = await turns.WaitAsync(name, cancellationToken);
            await proposals.PauseIfAskedAsync("approved", approvalId);
            var old = registry.Find(name);
            string? failure = null;
            switch (old is null ? (MetaProposals.Standing?)null : await proposals.StandingOfAsync(approvalId, name, baseCommit))
            {
                case null:
                    failure = AgentGoneReason;
                    break;
                case MetaProposals.Standing.Stale:
                    failure = ApproveApproval.StaleReason;
                    break;
                case var standing:
                    string? before = null;
                    string after;
                    var oldConfig = old!.ToConfig();
                    if (standing == MetaProposals.Standing.OnBase)
                    {
                        (before, after) = await proposals.ApplyProposalAsync(approvalId, name, $"{name}: proposal {approvalId} from the {command.RequestedBy}, approved by the operator");
                    }
                    else
                    {
                        // Committed in a life of the host that died: the start-up may have set the registry from the file already,
                        // so the configuration to fall back to is the base's file.
                        after = await meta.MainAsync();
                        await proposals.MarkApprovedAsync(approvalId);
                        if (await meta.ReadAgentAsync(name, baseCommit ?? $"refs/proposal/{approvalId}^") is { } baseFile)
                            oldConfig = baseFile with { Driver = baseFile.Driver ?? old!.Driver };
                    }
                    await proposals.PauseIfAskedAsync("committed", approvalId);
                    failure = await RebuildOnMainAsync(name, turn.Agent, oldConfig, before, after, approvalId, command.RequestedBy);
                    break;
            }
            if (failure is null) await proposals.MarkAsync("deployed", approvalId, await meta.MainAsync(), $"deployed: {name} runs proposal {approvalId}");
            else await proposals.MarkAsync("failed", approvalId, $"refs/proposal/{approvalId}", $"failed: {failure}");
            await proposals.PauseIfAskedAsync("marked", approvalId);
            await RecordDeployedAsync(changes, scopes, clock, name, command.RequestedBy, approvalId, failure);
            return Unit.Value;
        }

        /// <summary>
        /// Stops the agent, sets it from <c>main</c>'s file and starts it; null when it runs. When it does not start, the
        /// registry and the file go back to <paramref name="old"/>, it is started on that, and the reason is returned.
        /// </summary>
        private async Task<string?> RebuildOnMainAsync(string name, AgentHold hold, AgentConfig old, string? before, string after, long approvalId, string requestedBy)
        {
            // Egress rules are read by the proxy at each connection: a change of only those is applied to the running agent.
            if (await meta.ReadAgentAsync(name) is { } onMain && AppliesWithoutRestart(old, onMain with { Driver = onMain.Driver ?? old.Driver }))
            {
                await steps.ApplyConfigAsync(name, onMain with { Driver = onMain.Driver ?? old.Driver },
                    Actor.Named(requestedBy), $"a new configuration (approval {approvalId}, from the {requestedBy})");
                return null;
            }
            string? failure = null;
            await using (await steps.HoldTransientAsync(name, Transients.Rebuilding))
            {
                hold.CancelPendingRestart();
                await processes.StopAsync(name, hold);
                try
                {
                    var config = await meta.ReadAgentAsync(name) ?? throw new MetaFileException($"{AgentFile.PathOf(name)} is gone from main");
                    await steps.ApplyConfigAsync(name, config with { Driver = config.Driver ?? old.Driver },
                        Actor.Named(requestedBy), $"a new configuration (approval {approvalId}, from the {requestedBy})");
                    await processes.StartAsync(name, hold, CancellationToken.None);
                    await proposals.PauseIfAskedAsync("started", approvalId);
                }
                catch (Exception e) when (e is HiveException or DriverException or MetaFileException)
                {
                    failure = e.Message;
                    await steps.ApplyConfigAsync(name, old, Actor.Hive, $"approval {approvalId} did not start, so its old configuration is back");
                    await proposals.RevertAgentAsync(name, old, before, after, $"{name}: proposal {approvalId} did not start, so its old configuration is back");
                    try { await processes.StartAsync(name, hold, CancellationToken.None); }
                    catch (Exception again) when (again is HiveException or DriverException)
                    {
                        logger.LogError("containers: {Agent} did not start again on its old configuration: {Reason}", name, again.Message);
                    }
                }
            }
            return failure;
        }
    }

    /// <summary>Whether <paramref name="after"/> differs from <paramref name="before"/>, and only in what the running agent need not restart for (its egress rules).</summary>
    internal static bool AppliesWithoutRestart(AgentConfig before, AgentConfig after) =>
        AgentFile.Serialize(before) != AgentFile.Serialize(after)
        && AgentFile.Serialize(before with { Egress = null, EgressAsk = null }) == AgentFile.Serialize(after with { Egress = null, EgressAsk = null });

    /// <summary>The deploy is over: <c>applied_at</c>, and for a failure the requester's <c>config_failed</c>, in one change.</summary>
    internal static Task RecordDeployedAsync(
        StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock, string name, string requestedBy, long approvalId, string? failure) =>
        changes.RunAsync(scopes, async (change, scope) =>
        {
            if (change.Execute("UPDATE approvals SET applied_at = @now WHERE id = @approvalId AND applied_at IS NULL", new { approvalId, now = clock.GetUtcNow() }) == 0)
                return;
            if (failure is not null)
                await scope.GetRequiredService<IMediator>().Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, requestedBy, "config_failed",
                    failure.StartsWith("stale:", StringComparison.Ordinal) || failure == AgentGoneReason
                        ? $"approval {approvalId}: the new configuration of {name} was not deployed ({failure})"
                        : $"approval {approvalId}: the new configuration of {name} did not start ({failure}); {name} runs its old one",
                    new Dictionary<string, object?> { ["approval_id"] = approvalId, ["agent"] = name, ["reason"] = failure })]), CancellationToken.None);
        }, CancellationToken.None);
}
