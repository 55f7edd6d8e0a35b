using System.Text;
using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The manager asks for an agent to be destroyed (it becomes a tombstone once the operator approves).</summary>
public static class RequestDestroy
{
    public sealed record Command(string Requester, string? Name, string? Reason) : IRequest<ApprovalView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Name).Must(AgentNames.IsWellFormed).WithMessage("name must match ^[a-z][a-z0-9-]{0,30}$");
            RuleFor(c => c.Reason).Cascade(CascadeMode.Stop)
                .Must(r => !string.IsNullOrWhiteSpace(r)).WithMessage("reason is required: say why")
                .Must(r => Encoding.UTF8.GetByteCount(r!) <= 1024).WithMessage("reason is limited to 1024 UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
        }
    }

    internal sealed class Handler(StateChanges changes, AgentRegistry registry, TimeProvider clock, Microsoft.Extensions.Options.IOptions<ApprovalsOptions> options)
        : IRequestHandler<Command, ApprovalView>
    {
        public Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = command.Name!;
            if (name == AgentNames.Manager || name == command.Requester) throw new ForbiddenException("the manager cannot ask for its own destruction");
            if (registry.Find(name) is null) throw new NotFoundException($"no agent named {name}");
            var change = changes.Current;
            if (change.QuerySingle<long>("SELECT count(*) FROM approvals WHERE kind = 'destroy' AND agent = @name AND status = 'pending'", new { name }) > 0)
                throw new ConflictException($"a destroy of {name} is already waiting for the operator");
            var payload = JsonSerializer.Serialize(new { name, reason = command.Reason });
            return Task.FromResult(Approvals.Insert(change, ApprovalKinds.Destroy, command.Requester, name, payload, clock, options.Value.MaxPendingPerRequester));
        }
    }
}
