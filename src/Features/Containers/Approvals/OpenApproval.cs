using System.Text.Json;
using Hive.Contracts.Containers;
using Hive.Shared.Approvals;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// Opens an approval of a kind another slice owns and carries out (<see cref="IApprovalApplier"/>): pending, shown to the
/// operator as every approval is, under the same per-requester quota.
/// </summary>
public static class OpenApproval
{
    public sealed record Command(string Kind, string Requester, string Agent, JsonElement Payload) : IRequest<ApprovalView>, IChangesState;

    internal sealed class Handler(StateChanges changes, IEnumerable<IApprovalApplier> appliers, TimeProvider clock, IOptions<ApprovalsOptions> options)
        : IRequestHandler<Command, ApprovalView>
    {
        public Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!appliers.Any(a => a.Kind == command.Kind))
                throw new InvalidOperationException($"no slice carries out approvals of kind {command.Kind}: register its IApprovalApplier");
            return Task.FromResult(Approvals.Insert(changes.Current, command.Kind, command.Requester, command.Agent, command.Payload.GetRawText(), clock,
                options.Value.MaxPendingPerRequester));
        }
    }
}
