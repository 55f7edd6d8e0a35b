using Hive.Contracts.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>The approvals' SQL and steps that more than one use case runs.</summary>
internal static class Approvals
{
    /// <summary>
    /// Decides a pending approval in the running change: its status, who and why, the requester's system message
    /// (<c>approval_resolved</c>) and the event. 404 for no such approval, 409 when it was decided already.
    /// </summary>
    public static async Task<ApprovalRow> ResolveAsync(StateChange change, IMediator mediator, long id, string status, string decidedBy, string? reason, TimeProvider clock)
    {
        var row = change.QuerySingleOrDefault<ApprovalRow>($"SELECT {ApprovalRow.Columns} FROM approvals WHERE id = @id", new { id })
            ?? throw new NotFoundException($"no approval {id}");
        if (row.Status != ApprovalStatuses.Pending) throw new ConflictException($"approval {id} was already {row.Status}");
        row = change.QuerySingle<ApprovalRow>($"""
            UPDATE approvals SET status = @status, decided_by = @decidedBy, decided_at = @now, reason = @reason
            WHERE id = @id AND status = 'pending'
            RETURNING {ApprovalRow.Columns};
            """, new { id, status, decidedBy, reason, now = clock.GetUtcNow() });
        var what = row.Kind switch
        {
            ApprovalKinds.Spawn => $"the spawn of {row.Agent}",
            ApprovalKinds.Destroy => $"the destroy of {row.Agent}",
            ApprovalKinds.ConfigCommit => $"the configuration change of {row.Agent}",
            ApprovalKinds.TemplateImport => $"the template import starting at {row.Agent}",
            _ => $"the {row.Kind} of {row.Agent}",
        };
        var body = status == ApprovalStatuses.Approved
            ? $"approval {id}: {what} was approved by the {decidedBy}{(reason is null ? "" : $": {reason}")}"
            : $"approval {id}: {what} was denied{(decidedBy == AgentNames.Operator ? " by the operator" : "")}{(reason is null ? "" : $": {reason}")}";
        if (row.Requester != AgentNames.Operator)
            await mediator.Send(new Hive.Features.Messages.AppendMessages.Command([new Hive.Features.Messages.AppendMessages.Draft(
                AgentNames.Hive, row.Requester, "approval_resolved", body,
                new Dictionary<string, object?> { ["approval_id"] = id, ["status"] = status, ["reason"] = reason, ["agent"] = row.Agent })]),
                CancellationToken.None);
        change.Raise(new ApprovalResolved(row.View()));
        return row;
    }

    public static ApprovalView Insert(StateChange change, string kind, string requester, string agent, string payload, TimeProvider clock,
        int maxPending, bool raise = true)
    {
        // Inside the change, so racing requests cannot both slip under the quota.
        if (change.QuerySingle<long>("SELECT count(*) FROM approvals WHERE requester = @requester AND status = 'pending'", new { requester }) >= maxPending)
            throw new TooManyException($"{requester} already has {maxPending} requests waiting for the operator");
        var row = change.QuerySingle<ApprovalRow>($"""
            INSERT INTO approvals (kind, requester, agent, payload, status, created_at)
            VALUES (@kind, @requester, @agent, @payload, 'pending', @now)
            RETURNING {ApprovalRow.Columns};
            """, new { kind, requester, agent, payload, now = clock.GetUtcNow() });
        var view = row.View();
        if (raise) change.Raise(new ApprovalAdded(view));
        return view;
    }
}
