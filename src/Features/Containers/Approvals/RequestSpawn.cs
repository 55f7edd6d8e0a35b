using System.Text;
using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Features.Containers.Presets;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The manager asks for a new agent; the operator decides (<see cref="DecideApproval"/>), or, for a spawn beyond a parent's
/// limits that it asks of its own parent (<c>AskOf</c>), that agent (<see cref="ParentDecidesSpawn"/>). What can be checked now is
/// checked now (the name, that no agent or open request has it, the command), so the operator is never asked to approve
/// something that cannot run.
/// </summary>
public static class RequestSpawn
{
    public sealed record Command(
        string Requester, string? Name, string? Purpose, IReadOnlyList<string>? Argv, string? Driver, string? Preset = null,
        IReadOnlyDictionary<string, string>? Env = null, IReadOnlyDictionary<string, string>? Secrets = null, IReadOnlyList<string>? Mounts = null,
        string? Provider = null, AgentLimits? Limits = null, IReadOnlyList<string>? Capabilities = null,
        string? Network = null, IReadOnlyList<string>? Egress = null, bool? EgressAsk = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null,
        double? Budget = null, string? AskOf = null) : IRequest<ApprovalView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(DriverCatalog drivers)
        {
            RuleFor(c => c.Name).Cascade(CascadeMode.Stop)
                .Must(AgentNames.IsWellFormed).WithMessage("name must match ^[a-z][a-z0-9-]{0,30}$")
                .Must(n => !AgentNames.Reserved.Contains(n!)).WithMessage(c => $"{c.Name} is a reserved name");
            RuleFor(c => c.Purpose).Cascade(CascadeMode.Stop)
                .Must(p => !string.IsNullOrWhiteSpace(p)).WithMessage("purpose is required: say what the agent is for")
                .Must(p => Encoding.UTF8.GetByteCount(p!) <= 1024).WithMessage("purpose is limited to 1024 UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
            RuleFor(c => c.Argv).Must(a => a is null || (a.Count is > 0 and <= 64 && a.All(x => x is { Length: > 0 and <= 4096 } && !x.Contains('\0'))))
                .WithMessage("command must have 1 to 64 items of 1 to 4096 characters").OverridePropertyName("command");
            RuleFor(c => c.Driver).Must(d => d is null || drivers.Find(d) is not null)
                .WithMessage($"driver must be one of {string.Join(", ", drivers.Names)}");
            RuleFor(c => c.Argv).Null().When(c => c.Preset is not null).WithMessage("give a preset or a command, not both").OverridePropertyName("command");
            RuleFor(c => c.Preset).Must(p => p is null || AgentNames.IsWellFormed(p)).WithMessage("preset must be a preset's name");
        }
    }

    internal sealed class Handler(
        StateChanges changes, AgentRegistry registry, DriverCatalog drivers, IOptions<ContainersOptions> options, IOptions<ApprovalsOptions> approvals,
        TimeProvider clock, AgentPresets presets, IValidator<CreateAgent.Command> createRules, SecretStore secrets, IMediator mediator)
        : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = command.Name!;
            var (argv, env, secretNames, mounts, purpose, provider) = (command.Argv, command.Env, command.Secrets, command.Mounts, command.Purpose, command.Provider);
            var (network, egress, egressAsk) = (command.Network, command.Egress, command.EgressAsk);
            AgentPermissions? permissions = null;
            if (command.Preset is { } preset)
            {
                var expanded = await presets.ExpandAsync(preset, name, purpose, env, secretNames, mounts, provider);
                (argv, env, secretNames, mounts, purpose, provider) = (expanded.Command, expanded.Env, expanded.Secrets, expanded.Mounts, expanded.Purpose, expanded.Provider);
                (network, egress, egressAsk) = (network ?? expanded.Network, egress ?? expanded.Egress, egressAsk ?? expanded.EgressAsk);
                permissions = expanded.Permissions;
            }
            argv ??= (options.Value.DefaultCommand is { Count: > 0 } fallback ? fallback : null)
                ?? throw new BadRequestException("command or preset is required (this hive has no Hive:Containers:DefaultCommand)");
            var driverName = command.Driver ?? drivers.Default;
            network = NetworkSealing.Default(driverName, network, fromPreset: command.Preset is not null);
            // The same rules as the operator's create: the operator is never asked to approve what cannot run.
            var problems = (await createRules.ValidateAsync(new CreateAgent.Command(name, argv, driverName, purpose, env, Mounts: mounts, Secrets: secretNames, Provider: provider,
                Limits: command.Limits, Capabilities: command.Capabilities, Network: network, Egress: egress, EgressAsk: egressAsk, Permissions: permissions,
                Parent: command.Parent, MaySpawn: command.MaySpawn),
                cancellationToken)).Errors;
            if (problems.Count > 0) throw new ValidationException(problems);
            var driver = drivers.Find(driverName)!;
            if (driver.Unavailable is { } unavailable) throw new BadRequestException($"the {driverName} driver cannot run agents here: {unavailable}");
            if (driver.ProblemWith(name, argv, mounts ?? []) is { } problem) throw new BadRequestException(problem);
            if (AgentTree.ParentProblem(registry, name, command.Parent) is { } parentProblem) throw new BadRequestException(parentProblem);
            if (secrets.MissingOf(secretNames) is { } missing) throw new ConflictException(SecretStore.MissingReason(name, missing));

            var change = changes.Current;
            if (registry.Find(name) is not null) throw new ConflictException($"there is already an agent named {name}");
            if (change.QuerySingle<long>("SELECT count(*) FROM approvals WHERE kind = 'spawn' AND agent = @name AND status = 'pending'", new { name }) > 0)
                throw new ConflictException($"a spawn of {name} is already waiting for the operator");
            var payload = JsonSerializer.Serialize(new
            {
                name, purpose, command = argv, driver = driverName, env = env ?? new Dictionary<string, string>(), secrets = SecretStore.Normalised(secretNames),
                mounts = mounts ?? [], provider, capabilities = command.Capabilities ?? [], network, egress, egress_ask = egressAsk == true ? true : (bool?)null,
                permissions = permissions is null ? null : JsonSerializer.SerializeToNode(permissions, Hive.Contracts.Json.HiveJson.Options),
                // Snake-case by hand: the payload is written with default options and read back with the wire's.
                limits = command.Limits?.OrNull is { } own ? new { memory_mib = own.MemoryMib, cpu_percent = own.CpuPercent, pids = own.Pids } : null,
                parent = command.Parent,
                may_spawn = command.MaySpawn is { } may ? new { depth = may.Depth, children = may.Children } : null,
                budget = command.Budget, // a share of the requester's budget: the child's monthly cost cap once approved
            });
            var approval = Approvals.Insert(change, ApprovalKinds.Spawn, command.Requester, name, payload, clock, approvals.Value.MaxPendingPerRequester);
            if (command.AskOf is { } decider) await ParentDecidesSpawn.AskAsync(change, mediator, decider, approval, command.Requester, purpose, cancellationToken);
            return approval;
        }
    }
}
