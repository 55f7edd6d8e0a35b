using System.Text.Json;
using Hive.Shared.Changes;
using Hive.Shared.Json;

namespace Hive.Features.Governance;

/// <summary>Governance's audit trail: every operator action and every answer applied, written in the change that made it.</summary>
internal static class Audit
{
    public static void Write(StateChange change, DateTimeOffset at, string actor, string action, string? subject, object? detail) =>
        change.Execute("INSERT INTO governance_audit (at, actor, action, subject, detail) VALUES (@at, @actor, @action, @subject, @detail)", new
        {
            at, actor, action, subject,
            detail = detail is null ? null : JsonSerializer.Serialize(detail, HiveJson.Options),
        });
}
