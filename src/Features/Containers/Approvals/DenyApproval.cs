using System.Text;
using FluentValidation;
using Hive.Contracts.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Logging;

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

    internal sealed class Handler(StateChanges changes, IMediator mediator, MetaProposals proposals, TimeProvider clock, Microsoft.Extensions.Logging.ILogger<Command> logger)
        : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = await Approvals.ResolveAsync(change, mediator, command.Id, ApprovalStatuses.Denied, command.DecidedBy, command.Reason, clock);
            if (row.Kind == ApprovalKinds.ConfigCommit)
                // The proposal's fate goes into the meta repo's history too, with the note.
                change.AfterPublished(() => _ = Task.Run(async () =>
                {
                    try { await proposals.MarkAsync("denied", row.Id, $"refs/proposal/{row.Id}", $"denied by the {command.DecidedBy}: {command.Reason ?? "no reason given"}"); }
                    catch (Exception e) { logger.LogWarning("meta: recording the denial of proposal {Id} failed: {Reason}", row.Id, e.Message); }
                }));
            return row.View();
        }
    }
}
