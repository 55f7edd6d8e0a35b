using System.Text;
using FluentValidation;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The operator denies a request (with an optional note the requester gets); nothing is applied.</summary>
public static class DenyApproval
{
    public sealed record Command(long Id, string? Reason, string DecidedBy = AgentNames.Operator) : IRequest<ApprovalView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator() =>
            RuleFor(c => c.Reason).Must(r => r is null || Encoding.UTF8.GetByteCount(r) <= 1024)
                .WithMessage("reason is limited to 1024 UTF-8 bytes").WithErrorCode(ErrorCodes.TooLarge);
    }

    internal sealed class Handler(StateChanges changes, IMediator mediator, TimeProvider clock) : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken) =>
            (await Approvals.ResolveAsync(changes.Current, mediator, command.Id, ApprovalStatuses.Denied, command.DecidedBy, command.Reason, clock)).View();
    }
}
