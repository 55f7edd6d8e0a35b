using System.Text;
using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Agents;
using Hive.Features.Containers.Presets;
using Hive.Features.Containers.Runtime;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Egress;
using Hive.Shared.Errors;
using Hive.Shared.Permissions;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers;

/// <summary>
/// The operator creates an agent and it starts (no approval: the operator is the one who approves). Everything that can
/// be checked is checked before anything is made: the name, the command (its program exists and may be run), the
/// driver (it works on this machine and can see the program), the environment and the mounts. A start that still
/// fails leaves no half-made agent. A name with a tombstone gets its old state dir back. With driver <c>external</c> the
/// agent is only registered: Hive opens its socket and someone else runs it. <c>capabilities</c> (what work it takes) may
/// be given either way. <c>network</c> defaults to sealed for a preset's agent and a bubblewrap agent (<see cref="NetworkSealing"/>);
/// <c>egress</c> and <c>egress_ask</c> may be given whatever the network: kept, they take effect once it is sealed.
/// </summary>
public static class CreateAgent
{
    public sealed record Command(
        string? Name, IReadOnlyList<string>? Argv, string? Driver = null, string? Purpose = null,
        IReadOnlyDictionary<string, string>? Env = null, string? Restart = null, IReadOnlyList<string>? Mounts = null,
        string RequestedBy = AgentNames.Operator, IReadOnlyList<string>? Inputs = null, IReadOnlyList<string>? AllowedRecipients = null,
        IReadOnlyDictionary<string, string>? Secrets = null, string? Preset = null, string? Provider = null, AgentLimits? Limits = null,
        IReadOnlyList<string>? Capabilities = null, string? Network = null, IReadOnlyList<string>? Egress = null, bool? EgressAsk = null,
        AgentPermissions? Permissions = null, string? Parent = null, AgentSpawnLimits? MaySpawn = null,
        IReadOnlyList<string>? Providers = null, IReadOnlyDictionary<string, string>? Models = null)
        : IRequest<AgentRow>
    {
        /// <summary>The preset this configuration was expanded from: kept on the row, so a template can name it again.</summary>
        internal string? FromPreset { get; init; }
    }

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(DriverCatalog drivers, HivePaths paths, Hive.Shared.Gateway.IAgentGateways gateways)
        {
            RuleFor(c => c.Name).Cascade(CascadeMode.Stop)
                .Must(AgentNames.IsWellFormed).WithMessage("name must match ^[a-z][a-z0-9-]{0,30}$")
                .Must(n => !AgentNames.Reserved.Contains(n!) || n == AgentNames.Manager).WithMessage(c => $"{c.Name} is a reserved name");
            RuleFor(c => c.Driver).NotEqual(DriverCatalog.External).When(c => c.Name == AgentNames.Manager)
                .WithMessage("the manager is external already; create it with a command or a preset to have Hive run it");
            RuleFor(c => c.Preset).Must(p => AgentNames.IsWellFormed(p)).When(c => c.Preset is not null)
                .WithMessage("preset must be a preset's name (GET /api/presets lists them)");
            RuleFor(c => c.Argv).Null().When(c => c.Preset is not null)
                .WithMessage("give a preset or a command, not both").OverridePropertyName("command");
            RuleFor(c => c.Preset).Null().When(c => c.Driver == DriverCatalog.External)
                .WithMessage("an external agent has no command, so no preset: you run it yourself");
            RuleFor(c => c.Argv).Null().When(c => c.Driver == DriverCatalog.External)
                .WithMessage("an external agent has no command: you run it yourself, Hive keeps its socket").OverridePropertyName("command");
            When(c => c.Driver != DriverCatalog.External && c.Preset is null, () => RuleFor(c => c.Argv).Cascade(CascadeMode.Stop)
                .NotNull().WithMessage("command is required: the program and its arguments, as an array")
                .Must(c => c!.Count is > 0 and <= 64).WithMessage("command must have 1 to 64 items")
                .Must(c => c!.All(a => a is { Length: > 0 and <= 4096 } && !a.Contains('\0')))
                .WithMessage("each command item must be 1 to 4096 characters, without NUL")
                .OverridePropertyName("command"));
            RuleFor(c => c.Driver)
                .Must(d => d is null || d == DriverCatalog.External || drivers.Find(d) is not null)
                .WithMessage(c => $"driver must be one of {DriverCatalog.External}, {string.Join(", ", drivers.Names)}");
            RuleFor(c => c.Purpose).Must(p => p is null || Encoding.UTF8.GetByteCount(p) <= 1024)
                .WithMessage("purpose is limited to 1024 UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
            RuleFor(c => c.Provider).Must(p => p is null || Providers.IsWellFormed(p))
                .WithMessage($"provider must be a model provider's name, lowercase ({Providers.Pattern}); leave it out for {Providers.Default}");
            RuleFor(c => c.Providers).Cascade(CascadeMode.Stop)
                .Must((c, p) => ProviderChains.Problem(c.Provider, p, c.Models) is null).WithMessage(c => ProviderChains.Problem(c.Provider, c.Providers, c.Models)!)
                .Must(p => gateways.ChainProblem(p) is null).WithMessage(c => gateways.ChainProblem(c.Providers)!);
            RuleFor(c => c.Limits).Must(l => l?.Problem is null).WithMessage(c => c.Limits!.Problem!)
                .Must((c, l) => l?.OrNull is null || (c.Driver ?? drivers.Default) is not (DriverCatalog.External or NixosContainer))
                .WithMessage(c => $"limits are set on the process and bubblewrap drivers' cgroups; a {c.Driver ?? drivers.Default} agent cannot have them");
            RuleFor(c => c.Capabilities).Must(c => Containers.Capabilities.Problem(c) is null).WithMessage(c => Containers.Capabilities.Problem(c.Capabilities)!);
            RuleFor(c => c.Network).Must(NetworkModes.IsKnown).When(c => c.Network is not null)
                .WithMessage($"network must be {NetworkModes.Sealed} or {NetworkModes.Open}");
            RuleFor(c => c.Network).Must((c, n) => NetworkSealing.ProblemWith(c.Driver ?? drivers.Default, n) is null)
                .When(c => c.Network == NetworkModes.Sealed)
                .WithMessage(c => NetworkSealing.ProblemWith(c.Driver ?? drivers.Default, c.Network)!);
            RuleFor(c => c.Egress).Must(e => EgressRule.ProblemWith(e) is null).WithMessage(c => EgressRule.ProblemWith(c.Egress)!);
            RuleFor(c => c.Egress).Null().When(c => c.Driver == DriverCatalog.External)
                .WithMessage("an external agent runs outside the hive: it has no egress here");
            RuleFor(c => c.EgressAsk).Must(a => a != true).When(c => c.Driver == DriverCatalog.External)
                .WithMessage("an external agent runs outside the hive: it has no egress here");
            RuleFor(c => c.Permissions).Must(p => PermissionRules.ProblemWith(p) is null).WithMessage(c => PermissionRules.ProblemWith(c.Permissions)!);
            RuleFor(c => c.Parent).Cascade(CascadeMode.Stop)
                .Must(p => AgentNames.IsWellFormed(p)).WithMessage("parent must be an agent's name")
                .Must((c, p) => p != c.Name).WithMessage(c => $"parent: a cycle ({c.Name} cannot be its own parent)")
                .Must((c, _) => c.Name != AgentNames.Manager).WithMessage("the manager is the top level: it has no parent")
                .When(c => c.Parent is not null);
            RuleFor(c => c.MaySpawn).Must(m => m!.Problem is null).WithMessage(c => c.MaySpawn!.Problem!).When(c => c.MaySpawn is not null);
            RuleFor(c => c.Restart).Must(r => r is null || RestartPolicies.All.Contains(r))
                .WithMessage($"restart must be one of {string.Join(", ", RestartPolicies.All)}");
            RuleFor(c => c.Env).Must(e => e is null || e.Count <= 64).WithMessage("env has at most 64 variables");
            RuleForEach(c => c.Env).Must(v => IsEnvName(v.Key) && !v.Key.StartsWith("HIVE_", StringComparison.Ordinal)
                    && v.Value is not null && v.Value.Length <= 4096 && !v.Value.Contains('\0'))
                .WithMessage((_, v) => $"env {v.Key}: names are [A-Za-z_][A-Za-z0-9_]*, HIVE_* belongs to the hive, values are at most 4096 characters");
            RuleFor(c => c.Env).Must(e => e is null || !e.TryGetValue("HOME", out var home) || HomeRules.Problem(home) is null)
                .WithMessage(c => $"env HOME: {HomeRules.Problem(c.Env!["HOME"])}");
            RuleFor(c => c.Mounts).Must(m => m is null || m.Count <= 16).WithMessage("at most 16 mounts");
            RuleFor(c => c.Inputs).Must(i => i is null || (i.Count <= 32 && i.All(AgentNames.IsWellFormed)))
                .WithMessage("inputs are at most 32 input names (^[a-z][a-z0-9-]{0,30}$)");
            RuleFor(c => c.AllowedRecipients).Must(AllowedRecipientsAreNames)
                .WithMessage("allowed_recipients are at most 256 agent names (^[a-z][a-z0-9-]{0,30}$, or agent@hive); operator and manager are always allowed");
            RuleForEach(c => c.Mounts).Must(m => MountRules.Check(m, paths).Problem is null).WithMessage((_, m) => MountRules.Check(m, paths).Problem!);

            // A credential never goes into the configuration (the meta repo, approval diffs, the forge): secrets hold it, by name.
            // The messages say what kind of value it looks like, never the value.
            RuleForEach(c => c.Env).Must(v => KeyLikeValues.KindOf(v.Value) is null)
                .WithMessage((_, v) => $"env {v.Key}: the value looks like {KeyLikeValues.KindOf(v.Value)}; {KeyLikeValues.Pointer}");
            RuleForEach(c => c.Argv).Must(a => KeyLikeValues.KindOf(a) is null)
                .WithMessage((_, a) => $"a command item looks like {KeyLikeValues.KindOf(a)}; {KeyLikeValues.Pointer}").OverridePropertyName("command");
            RuleFor(c => c.Secrets).Must(s => s is null || s.Count <= 64).WithMessage("secrets has at most 64 variables");
            RuleForEach(c => c.Secrets).Must(v => IsEnvName(v.Key) && !v.Key.StartsWith("HIVE_", StringComparison.Ordinal) && v.Key is not ("PATH" or "HOME"))
                .WithMessage((_, v) => $"secrets {v.Key}: variable names are [A-Za-z_][A-Za-z0-9_]*; HIVE_*, PATH and HOME belong to the hive")
                .Must(v => SecretStore.IsName(v.Value) && KeyLikeValues.KindOf(v.Value) is null)
                .WithMessage((_, v) => $"secrets {v.Key}: the value is the name of a secret ({SecretStore.NamePattern}), never the secret itself");
            RuleFor(c => c.Secrets).Must((c, s) => s is null || c.Env is null || !s.Keys.Any(c.Env.ContainsKey))
                .WithMessage(c => $"{string.Join(", ", c.Secrets!.Keys.Where(c.Env!.ContainsKey))}: set from env and from secrets at once; give each variable one source");
            RuleFor(c => c.Secrets).Must(s => s is not { Count: > 0 })
                .When(c => c.Driver == DriverCatalog.External)
                .WithMessage("an external agent has no process here to give secrets to");
            RuleFor(c => c.Secrets).Must(s => s is not { Count: > 0 })
                .When(c => (c.Driver ?? drivers.Default) == NixosContainer)
                .WithMessage("secrets are not given to nixos-container agents: that driver writes the environment into a configuration file under the data dir");
        }

        private const string NixosContainer = "nixos-container";

        internal static bool AllowedRecipientsAreNames(IReadOnlyList<string>? names) =>
            // An entry may name another hive's agent (bob@b): the send path checks a remote address against the list too.
            names is null || (names.Count <= 256 && names.All(n => AgentNames.IsWellFormed(n) || Hive.Shared.Constellation.HiveAddresses.Parse(n) is not null));

        private static bool IsEnvName(string name) =>
            name.Length is > 0 and <= 128 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');
    }

    internal sealed class Handler(
        DriverCatalog drivers, AgentRegistry registry, AgentRows rows, HivePaths paths, TimeProvider clock, SecretStore secrets, AgentPresets presets,
        IMediator mediator, AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentDirectory directory, StateChanges changes, IServiceScopeFactory scopes, AgentsStartUp startUp,
        Hive.Shared.Gateway.IAgentGateways gateways)
        : IRequestHandler<Command, AgentRow>
    {
        public async Task<AgentRow> Handle(Command command, CancellationToken cancellationToken)
        {
            // Not before the start-up reconciliation is done: it would take a process started now for one the last life left.
            await startUp.Reconciled.WaitAsync(cancellationToken);
            if (command.Parent == AgentNames.Manager) command = command with { Parent = null }; // the top level is the manager's
            if (AgentTree.ParentProblem(registry, command.Name!, command.Parent) is { } parentProblem) throw new BadRequestException(parentProblem);
            if (command.Preset is { } preset)
            {
                // Expanded into a plain configuration, which is then checked in full like any other.
                var expanded = await presets.ExpandAsync(preset, command.Name!, command.Purpose, command.Env, command.Secrets, command.Mounts,
                    command.Provider ?? command.Providers?.FirstOrDefault());
                foreach (var provider in (IEnumerable<string?>?)command.Providers ?? [expanded.Provider])
                    if (gateways.ContextProblem(provider, expanded.Context) is { } tooSmall) throw new BadRequestException($"{command.Name}: {tooSmall}");
                return await mediator.Send(command with
                {
                    Preset = null,
                    FromPreset = preset,
                    Argv = expanded.Command,
                    Env = expanded.Env,
                    Secrets = expanded.Secrets,
                    Mounts = expanded.Mounts,
                    Purpose = expanded.Purpose,
                    Provider = expanded.Provider,
                    Network = NetworkSealing.Default(command.Driver ?? drivers.Default, command.Network ?? expanded.Network, fromPreset: true),
                    Egress = command.Egress ?? expanded.Egress,
                    EgressAsk = command.EgressAsk ?? expanded.EgressAsk,
                    Permissions = command.Permissions ?? expanded.Permissions,
                }, cancellationToken);
            }
            if (command.Driver == DriverCatalog.External)
            {
                using (await turns.TryTakeAsync(command.Name!))
                    await mediator.Send(new RegisterAgent.Command(new AgentRecord
                    {
                        Name = command.Name!, Driver = DriverCatalog.External, Purpose = command.Purpose, Desired = DesiredStates.Running,
                        State = States.Running, CreatedAt = clock.GetUtcNow(), AllowedRecipients = Stored(command.AllowedRecipients),
                        Provider = command.Providers is [var first, ..] ? first : command.Provider,
                        Providers = command.Providers is { } chain ? new(chain) : null, Models = command.Models is { } models ? new(models) : null,
                        Capabilities = Containers.Capabilities.Stored(command.Capabilities),
                        Permissions = Json<AgentPermissions>.Of(command.Permissions), // its harness, wherever it runs, asks the hive
                        Parent = command.Parent, MaySpawn = Json<AgentSpawnLimits>.Of(command.MaySpawn),
                    }, command.RequestedBy), cancellationToken);
                return await ViewAsync(registry, rows, paths, command.Name!, cancellationToken);
            }
            var driverName = command.Driver ?? drivers.Default;
            var driver = drivers.Find(driverName) ?? throw new BadRequestException($"the {driverName} driver does not exist here");
            if (driver.Unavailable is { } unavailable) throw new BadRequestException($"the {driverName} driver cannot run agents here: {unavailable}");
            var mounts = command.Mounts?.Select(m => m.TrimEnd('/')).ToList() ?? [];
            if (driver.ProblemWith(command.Name!, command.Argv!, mounts) is { } problem) throw new BadRequestException(problem);
            if (secrets.MissingOf(command.Secrets) is { } missing) throw new ConflictException(SecretStore.MissingReason(command.Name!, missing));

            var config = new AgentConfig(command.Argv, driverName, command.Env, command.Purpose, command.Restart, mounts, command.Inputs, command.AllowedRecipients,
                command.Secrets, command.Provider, command.Limits, command.Capabilities, NetworkSealing.Default(driverName, command.Network, fromPreset: false),
                command.Egress, command.EgressAsk, command.Permissions, command.Parent, command.MaySpawn, command.Providers, command.Models);
            var record = AgentRecord.FromConfig(command.Name!, config, clock.GetUtcNow());
            (record.Kind, record.Origin, record.Preset) = (command.Name == AgentNames.Manager ? AgentKinds.Manager : AgentKinds.Agent, Origins.Api, command.FromPreset);
            if (record.Name == AgentNames.Manager)
                await mediator.Send(new RunManager.Command(record), cancellationToken);
            else
                await CreateAsync(record, command.RequestedBy, cancellationToken);
            return await ViewAsync(registry, rows, paths, record.Name, cancellationToken);
        }

        /// <summary>Registered, then committed in the meta repo while it starts; a start that fails leaves nothing behind (a consumed tombstone comes back).</summary>
        private async Task CreateAsync(AgentRecord record, string requestedBy, CancellationToken ct)
        {
            using var turn = await turns.TryTakeAsync(record.Name);
            record.Transient = Transients.Starting; // registered starting: the start needs no change of its own to show it
            var consumedTombstone = await mediator.Send(new RegisterAgent.Command(record, requestedBy), ct);
            // The commit runs while the process starts (it waits its turn behind other creates' commits, which it then shares);
            // both are done before the 201. A host killed in between leaves a row without a file: the next start-up imports it.
            var recorded = steps.RecordInMetaAsync(record.Name, record.ToConfig(), $"{record.Name}: spawned by the {requestedBy}");
            try
            {
                await using (steps.HeldTransient(record.Name, Transients.Starting))
                    await processes.StartAsync(record.Name, turn.Agent, ct, Transients.Starting);
                await recorded;
            }
            catch (Exception) when (!turns.HostStopping)
            {
                await recorded; // the removal is committed after the file, never before
                await changes.RunAsync(scopes, async (change, _) =>
                {
                    change.Execute("DELETE FROM agents WHERE name = @Name", record);
                    if (consumedTombstone)
                    {
                        change.Execute("INSERT OR REPLACE INTO tombstones (name, destroyed_at, bytes) VALUES (@Name, @Now, @Bytes)",
                            new { record.Name, Now = clock.GetUtcNow(), Bytes = registry.SizeOf(record.Name) });
                        change.Raise(registry.TombstonesNow());
                    }
                    await directory.RemoveAsync(record.Name, CancellationToken.None);
                }, CancellationToken.None);
                turns.Forget(record.Name);
                await steps.RecordInMetaAsync(record.Name, null, $"{record.Name}: did not start, so it was not created");
                throw;
            }
        }
    }

    /// <summary>The stored form of a list of allowed recipients: null (anyone) stays null, names are kept once each, in order.</summary>
    internal static JsonList? Stored(IReadOnlyList<string>? recipients) =>
        recipients is null ? null : new JsonList(recipients.Distinct(StringComparer.Ordinal));

    internal static async Task<AgentRow> ViewAsync(AgentRegistry registry, AgentRows rows, HivePaths paths, string name, CancellationToken ct)
    {
        var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
        return (await rows.BuildAsync([record.ToInfo(paths)], ct)).Single();
    }
}
