using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers;

/// <summary>
/// The operator stops an agent and everything under it, as one thing. Every member's turn is taken first (one busy is a
/// 409, nothing done); then, in one change, all of them are marked desired stopped, each with its <c>stop</c>
/// intervention and its row, so no parent brings a child back and a host killed midway starts none of them again; then
/// their processes are ended together, children first where order matters (<see cref="AgentProcesses.StopTogetherAsync"/>:
/// one grace period, then the rest frozen and killed). An external agent in the subtree is skipped, and said so.
/// </summary>
public static class StopSubtree
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<SubtreeReply>;

    internal sealed class Handler(AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, StateChanges changes, IServiceScopeFactory scopes)
        : IRequestHandler<Command, SubtreeReply>
    {
        public async Task<SubtreeReply> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            var root = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            var members = AgentTree.SubtreeOf(registry, name).Append(root).ToList(); // deepest first, the agent last
            var managed = members.Where(r => !r.IsExternal).ToList();
            await using var held = new SubtreeTurns(turns, steps, changes, scopes, managed.Select(r => r.Name).ToList(), Transients.Stopping);
            await held.TakeAsync();
            foreach (var (_, hold) in held.Holds) hold.CancelPendingRestart();
            await changes.RunAsync(scopes, async (change, scope) =>
            {
                change.Execute("UPDATE agents SET desired = @stopped WHERE name IN @names", new { stopped = DesiredStates.Stopped, names = held.Names });
                held.Show(change);
                var mediator = scope.GetRequiredService<IMediator>();
                // Read again under the turns: the row the intervention records as before is the one now.
                foreach (var record in managed.Select(r => registry.Find(r.Name) ?? r))
                    if (AgentSteps.InterventionOf(command.RequestedBy, InterventionActions.Stop, record) is { } intervention)
                        await mediator.Send(intervention, CancellationToken.None);
                foreach (var each in held.Names) await steps.RaiseRowAsync(change, each);
            }, CancellationToken.None);
            await processes.StopTogetherAsync(held.Holds);
            await changes.RunAsync(scopes, async (_, scope) =>
            {
                foreach (var each in held.Names)
                    await AgentSteps.TellManagerAsync(scope.GetRequiredService<IMediator>(), command.RequestedBy, "stopped",
                        $"{each} was stopped by the {command.RequestedBy}, with the subtree of {name}");
            }, CancellationToken.None);
            return new SubtreeReply(name, "stop", held.Names, Skipped(members));
        }
    }

    internal static IReadOnlyList<SkippedAgent> Skipped(IEnumerable<AgentRecord> members) =>
        members.Where(r => r.IsExternal).Select(r => new SkippedAgent(r.Name, "an external agent: Hive does not run its process")).ToList();
}
