using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers;

/// <summary>
/// The operator starts an agent and everything under it, as one thing: every member's turn taken first (one busy is a
/// 409, nothing done), all of them marked desired running in one change, then each started unless it runs, parents
/// first, each with a fresh restart budget as a single start gives it. A member its driver refuses is said in the reply
/// (and its row is <c>failed</c>); the rest still start. An external agent in the subtree is skipped, and said so.
/// </summary>
public static class StartSubtree
{
    public sealed record Command(string Name, string RequestedBy = AgentNames.Operator) : IRequest<SubtreeReply>;

    internal sealed class Handler(AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, StateChanges changes,
        IServiceScopeFactory scopes, AgentsStartUp startUp)
        : IRequestHandler<Command, SubtreeReply>
    {
        public async Task<SubtreeReply> Handle(Command command, CancellationToken cancellationToken)
        {
            // Not before the start-up reconciliation is done: it would take a process started now for one the last life left.
            await startUp.Reconciled.WaitAsync(cancellationToken);
            var name = AgentName.Checked(command.Name);
            var root = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            var members = AgentTree.SubtreeOf(registry, name).Reverse().Prepend(root).ToList(); // the agent first, then down its tree
            var managed = members.Where(r => !r.IsExternal).Select(r => r.Name).ToList();
            await using var held = new SubtreeTurns(turns, steps, changes, scopes, managed, Transients.Starting);
            await held.TakeAsync();
            await changes.RunAsync(scopes, async (change, _) =>
            {
                change.Execute("UPDATE agents SET desired = @running WHERE name IN @names", new { running = DesiredStates.Running, names = managed });
                held.Show(change);
                foreach (var each in managed) await steps.RaiseRowAsync(change, each);
            }, CancellationToken.None);
            var started = new List<string>();
            var running = new List<string>();
            var skipped = StopSubtree.Skipped(members).ToList();
            foreach (var (each, hold) in held.Holds)
            {
                hold.CancelPendingRestart();
                hold.RestartTimes.Clear(); // the operator stepped in: a failed agent gets a fresh budget
                if (hold.Running is { Exited.IsCompleted: false })
                {
                    running.Add(each);
                    continue;
                }
                try
                {
                    await processes.StartAsync(each, hold, cancellationToken);
                    started.Add(each);
                    running.Add(each);
                }
                catch (Exception e) when (e is BadRequestException or ConflictException)
                {
                    skipped.Add(new SkippedAgent(each, e.Message));
                }
            }
            await changes.RunAsync(scopes, async (_, scope) =>
            {
                foreach (var each in started)
                    await AgentSteps.TellManagerAsync(scope.GetRequiredService<IMediator>(), command.RequestedBy, "started",
                        $"{each} was started by the {command.RequestedBy}, with the subtree of {name}");
            }, CancellationToken.None);
            return new SubtreeReply(name, "start", running, skipped);
        }
    }
}
