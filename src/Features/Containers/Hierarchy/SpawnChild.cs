using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Features.Containers.Presets;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Budgets;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// An agent spawns a child under itself. The limits are the host's, not the agent's: within its <c>may_spawn</c> (how many
/// children alive under it, how deep, the child's own may_spawn one level less) and no wider than itself (a sealed parent's
/// child is sealed; its egress within the parent's), the child is created at once, recorded as an intervention of the
/// parent; beyond them the spawn becomes a spawn approval the operator decides (or the parent's own parent, when its
/// may_spawn says <c>ask: parent</c>), saying which limit it goes beyond. The
/// child gets no env, secrets or mounts from the verb: what it needs beyond its preset is the operator's to give. A
/// budget is a share of the parent's own (its monthly cost cap), checked before anything is made and refused when more
/// than the parent has left; it becomes the child's monthly cost cap, at once or when the operator approves.
/// </summary>
public static class SpawnChild
{
    public sealed record Command(string Parent, string? Name, string? Purpose, string? Preset, IReadOnlyList<string>? Argv, AgentSpawnLimits? MaySpawn,
        double? Budget = null) : IRequest<Result>;

    /// <summary>The child's row when it was spawned; else the approval it became and why.</summary>
    public sealed record Result(AgentRow? Agent, ApprovalView? Approval, string? Reason);

    internal sealed class Handler(AgentRegistry registry, AgentPresets presets, DriverCatalog drivers, IBudgetShares shares, IMediator mediator)
        : IRequestHandler<Command, Result>
    {
        /// <summary>One spawn decided at a time: two at once must not both count the same free place under a parent.</summary>
        private static readonly SemaphoreSlim Deciding = new(1, 1);

        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var parent = registry.Find(command.Parent) ?? throw new NotFoundException($"no agent named {command.Parent}");
            var name = AgentName.Checked(command.Name);
            if (command.MaySpawn?.Problem is { } problem) throw new BadRequestException(problem);
            if (command.Preset is not null && command.Argv is not null) throw new BadRequestException("give a preset or a command, not both");
            if (BudgetShares.Problem(command.Budget) is { } budgetProblem) throw new BadRequestException(budgetProblem);
            // An external parent runs outside the hive: its children run under the hive's default driver.
            var driver = parent.IsExternal ? drivers.Default : parent.Driver;
            var expanded = command.Preset is { } preset ? await presets.ExpandAsync(preset, name, command.Purpose, null, null, null, null) : null;
            var network = NetworkSealing.Default(driver, expanded?.Network, fromPreset: expanded is not null);
            var under = parent.Name == AgentNames.Manager ? null : parent.Name; // the manager's children are the top level

            await Deciding.WaitAsync(cancellationToken);
            try
            {
                if (registry.Find(name) is not null) throw new ConflictException($"there is already an agent named {name}");
                // Before anything is made, whether the spawn is granted or asked: a share the parent does not have is no question.
                var children = AgentTree.ChildrenOf(registry, parent.Name).Select(c => c.Name).ToList();
                if (command.Budget is { } usd && shares.ProblemWithShare(parent.Name, children, usd) is { } overdrawn) throw new BadRequestException(overdrawn);
                if (Beyond(parent, command.MaySpawn, network, expanded?.Egress ?? []) is { } reason)
                {
                    var askOf = DeciderFor(parent);
                    var approval = await mediator.Send(new RequestSpawn.Command(parent.Name, name, command.Purpose, command.Argv, driver, command.Preset,
                        Network: network, Parent: under, MaySpawn: command.MaySpawn, Budget: command.Budget, AskOf: askOf), cancellationToken);
                    return new Result(null, approval, askOf is null ? reason : $"{reason}; asked of {askOf}, {parent.Name}'s parent");
                }
                var row = await mediator.Send(new CreateAgent.Command(name, command.Argv, driver, command.Purpose, RequestedBy: parent.Name, Preset: command.Preset,
                    Network: network, Parent: under, MaySpawn: command.MaySpawn), cancellationToken);
                if (command.Budget is { } share) await mediator.Send(new GrantBudgetShare(parent.Name, name, share), CancellationToken.None);
                await mediator.Send(new RecordIntervention(Actor.Agent(parent.Name), InterventionActions.Spawn, name, command.Purpose, null,
                    new { preset = command.Preset, command = command.Argv, may_spawn = command.MaySpawn, budget = command.Budget }), CancellationToken.None);
                return new Result(row, null, null);
            }
            finally
            {
                Deciding.Release();
            }
        }

        /// <summary>Who decides a spawn beyond the parent's limits besides the operator: its own parent when its may_spawn says so and it has one.</summary>
        private string? DeciderFor(AgentRecord parent) =>
            parent.MaySpawn?.Value?.Ask == AgentSpawnLimits.AskParent && parent.Parent is { } grand && registry.Find(grand) is not null ? grand : null;

        /// <summary>Which of the parent's limits the child would go beyond, as the operator reads it; null when none.</summary>
        private string? Beyond(AgentRecord parent, AgentSpawnLimits? childMay, string? network, IReadOnlyList<string> egress)
        {
            if (parent.MaySpawn?.Value is not { Depth: { } depth, Children: { } children })
                return $"{parent.Name} may spawn nothing without asking (it has no may_spawn)";
            var alive = AgentTree.ChildrenOf(registry, parent.Name).Count;
            if (alive >= children) return $"{parent.Name} has {alive} children already, as many as its may_spawn allows ({children})";
            if (childMay is { } asked && (asked.Depth > depth - 1 || asked.Children > children))
                return depth <= 1 ? $"the child would spawn in turn, and {parent.Name}'s may_spawn goes one level deep"
                    : $"the child's may_spawn goes beyond {parent.Name}'s, one level less (depth {depth - 1}, children {children})";
            if (parent.IsSealed && network != Hive.Shared.Egress.NetworkModes.Sealed)
                return $"the child would have the open network, and {parent.Name} is sealed";
            var allowed = (IReadOnlyList<string>?)parent.Egress ?? [];
            if (egress.FirstOrDefault(place => !allowed.Contains(place, StringComparer.Ordinal)) is { } wider)
                return $"the child's egress ({wider}) goes beyond {parent.Name}'s";
            return null;
        }
    }
}
