using System.Text;
using System.Text.Json;
using FluentValidation;
using Hive.Features.Containers.Drivers;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The manager asks for a new agent; the operator decides (<see cref="DecideApproval"/>). What can be checked now is
/// checked now (the name, that no agent or open request has it, the command), so the operator is never asked to approve
/// something that cannot run.
/// </summary>
public static class RequestSpawn
{
    public sealed record Command(string Requester, string? Name, string? Purpose, IReadOnlyList<string>? Argv, string? Driver)
        : IRequest<ApprovalView>, IChangesState;

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
        }
    }

    internal sealed class Handler(
        StateChanges changes, AgentRegistry registry, DriverCatalog drivers, IOptions<ContainersOptions> options, IOptions<ApprovalsOptions> approvals,
        TimeProvider clock)
        : IRequestHandler<Command, ApprovalView>
    {
        public Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = command.Name!;
            var argv = command.Argv ?? (options.Value.DefaultCommand is { Count: > 0 } fallback ? fallback : null)
                ?? throw new BadRequestException("command is required (this hive has no Hive:Containers:DefaultCommand)");
            var driverName = command.Driver ?? drivers.Default;
            var driver = drivers.Find(driverName)!;
            if (driver.Unavailable is { } unavailable) throw new BadRequestException($"the {driverName} driver cannot run agents here: {unavailable}");
            if (driver.ProblemWith(name, argv, []) is { } problem) throw new BadRequestException(problem);

            var change = changes.Current;
            if (registry.Find(name) is not null) throw new ConflictException($"there is already an agent named {name}");
            if (change.QuerySingle<long>("SELECT count(*) FROM approvals WHERE kind = 'spawn' AND agent = @name AND status = 'pending'", new { name }) > 0)
                throw new ConflictException($"a spawn of {name} is already waiting for the operator");
            var payload = JsonSerializer.Serialize(new { name, purpose = command.Purpose, command = argv, driver = driverName });
            return Task.FromResult(Approvals.Insert(change, ApprovalKinds.Spawn, command.Requester, name, payload, clock, approvals.Value.MaxPendingPerRequester));
        }
    }
}
