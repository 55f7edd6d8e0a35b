using System.Text.Json;
using Hive.Contracts.Containers;
using Hive.Shared.Dashboard;

namespace Hive.Features.Containers;

public static class ApprovalKinds
{
    public const string Spawn = "spawn";
    public const string Destroy = "destroy";
    public const string ConfigCommit = "config_commit";
    public const string TemplateImport = "template_import";
}

public static class ApprovalStatuses
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Denied = "denied";
}

/// <summary>An <c>approvals</c> row as stored.</summary>
internal sealed class ApprovalRow
{
    public const string Columns = "id, kind, requester, agent, payload, status, created_at, decided_by, decided_at, reason, applied_at, base_commit";

    public long Id { get; set; }
    public string Kind { get; set; } = "";
    public string Requester { get; set; } = "";
    public string Agent { get; set; } = "";
    public string Payload { get; set; } = "{}";
    public string Status { get; set; } = ApprovalStatuses.Pending;
    public DateTimeOffset CreatedAt { get; set; }
    public string? DecidedBy { get; set; }
    public DateTimeOffset? DecidedAt { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset? AppliedAt { get; set; }

    /// <summary>A <c>config_commit</c>'s base: <c>main</c> when it was proposed (NULL before migration 0007).</summary>
    public string? BaseCommit { get; set; }

    public ApprovalView View() =>
        new(Id, Kind, Requester, Agent, JsonDocument.Parse(Payload).RootElement.Clone(), Status, CreatedAt, DecidedBy, DecidedAt, Reason, AppliedAt);
}

/// <summary>The manager asked for something the operator decides.</summary>
public sealed record ApprovalAdded(ApprovalView Approval) : IDashboardEvent<ApprovalPayload>
{
    public string EventType => "approval_added";
    public ApprovalPayload Payload => new(Approval);
}

/// <summary>An approval was approved or denied (by the operator, or by the timeout).</summary>
public sealed record ApprovalResolved(ApprovalView Approval) : IDashboardEvent<ApprovalPayload>
{
    public string EventType => "approval_resolved";
    public ApprovalPayload Payload => new(Approval);
}
