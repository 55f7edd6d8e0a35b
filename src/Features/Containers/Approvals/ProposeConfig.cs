using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// The manager proposes a whole new configuration for one agent (the fields of <c>agents/&lt;name&gt;.json</c>; omitted
/// ones take their defaults). It is checked as a create would be, pinned in the meta repo as <c>refs/proposal/&lt;id&gt;</c>
/// (a later proposal cannot change what this approval shows), and becomes a <c>config_commit</c> approval carrying the
/// diff against <c>main</c> and that base. Approved, it is committed and exactly that agent is rebuilt; approved after the
/// agent's file moved on from the base, it is refused as stale (and denied), never installed over the newer file.
/// </summary>
public static class ProposeConfig
{
    public sealed record Command(string Requester, string? Name, AgentConfig? Config) : IRequest<ApprovalView>, IChangesState;

    /// <summary>
    /// <paramref name="config"/> as the agent's new file would hold it (defaults filled in), checked by the same rules as a
    /// create, so no one is ever asked to approve what cannot run.
    /// </summary>
    internal static async Task<AgentConfig> CheckedAsync(
        AgentRecord record, AgentConfig? config, IValidator<CreateAgent.Command> createRules, DriverCatalog drivers, AgentRegistry registry, CancellationToken ct)
    {
        if (config is null) throw new BadRequestException("config is required: the agent's whole new configuration");
        if (record.IsExternal) throw new ConflictException($"{record.Name} is an external agent: it has no configuration here");
        var driver = config.Driver ?? record.Driver;
        var asCreate = new CreateAgent.Command(record.Name, config.Command, driver, config.Purpose, config.Env, config.Restart, config.Mounts, Inputs: config.Inputs,
            AllowedRecipients: config.AllowedRecipients, Secrets: config.Secrets, Provider: config.Provider, Limits: config.Limits,
            Capabilities: config.Capabilities, Network: config.Network, Egress: config.Egress, EgressAsk: config.EgressAsk, Permissions: config.Permissions,
            Parent: config.Parent, MaySpawn: config.MaySpawn, Providers: config.Providers, Models: config.Models);
        var problems = (await createRules.ValidateAsync(asCreate, ct)).Errors.Where(e => e.PropertyName != "Name").ToList();
        if (problems.Count > 0) throw new ValidationException(problems);
        if (AgentTree.ParentProblem(registry, record.Name, config.Parent) is { } parentProblem) throw new BadRequestException(parentProblem);
        var chosen = drivers.Find(driver) ?? throw new BadRequestException($"the {driver} driver does not exist here");
        if (chosen.ProblemWith(record.Name, config.Command!, config.Mounts ?? []) is { } problem) throw new BadRequestException(problem);
        return config with
        {
            Driver = driver,
            Restart = config.Restart ?? RestartPolicies.OnFailure,
            Env = config.Env ?? new Dictionary<string, string>(),
            Mounts = config.Mounts ?? [],
            Inputs = config.Inputs ?? [],
            Secrets = SecretStore.Normalised(config.Secrets),
            Limits = config.Limits?.OrNull,
            Capabilities = Capabilities.InFile(config.Capabilities),
            // Omitted, the network takes its default as a create's would (sealed under bubblewrap); the diff shows it.
            Network = NetworkSealing.Default(driver, config.Network, fromPreset: false),
            EgressAsk = config.EgressAsk == true ? true : null,
            Parent = config.Parent == AgentNames.Manager ? null : config.Parent,
        };
    }

    internal sealed class Handler(
        StateChanges changes, AgentRegistry registry, DriverCatalog drivers, IValidator<CreateAgent.Command> createRules, MetaRepo meta, MetaProposals proposals, TimeProvider clock,
        Microsoft.Extensions.Options.IOptions<ApprovalsOptions> approvals)
        : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            if (name == command.Requester) throw new ForbiddenException($"the {name} cannot propose its own configuration");
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            var normalised = await CheckedAsync(record, command.Config, createRules, drivers, registry, cancellationToken);
            if (meta.Unavailable is { } why) throw new ConflictException(why);

            var change = changes.Current;
            var pending = Approvals.Insert(change, ApprovalKinds.ConfigCommit, command.Requester, name, "{}", clock,
                approvals.Value.MaxPendingPerRequester, raise: false);
            var (commit, diff, @base) = await proposals.ProposeAsync(pending.Id, name, normalised, $"proposal {pending.Id}: a new configuration for {name}, from the {command.Requester}");
            var payload = JsonSerializer.Serialize(new { name, config = normalised, diff, commit, @base }, Hive.Contracts.Json.HiveJson.Options);
            // The base is kept with the approval: approving after the agent's file moved on would undo that move (ApproveApproval).
            var row = change.QuerySingle<ApprovalRow>($"UPDATE approvals SET payload = @payload, base_commit = @base WHERE id = @Id RETURNING {ApprovalRow.Columns}",
                new { payload, @base, pending.Id });
            var view = row.View();
            change.Raise(new ApprovalAdded(view));
            return view;
        }
    }
}
