using Hive.Contracts.Containers;

namespace Hive.Shared.Approvals;

/// <summary>
/// Carries out an approved request of a kind the approvals do not own (a fork of a conversation is the gateway's): the
/// slice that owns the kind registers one, opens its approvals through the approvals' request, and is handed each one the
/// operator approves, once the decision has committed. A failure is the applier's to tell the requester.
/// </summary>
public interface IApprovalApplier
{
    /// <summary>The approval kind it carries out (<c>fork</c>).</summary>
    string Kind { get; }

    Task ApplyAsync(ApprovalView approval, CancellationToken cancellationToken);
}
