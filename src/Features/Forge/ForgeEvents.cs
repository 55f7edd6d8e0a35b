using Hive.Shared.Dashboard;

namespace Hive.Features.Forge;

/// <summary>An agent's forge account as the last sweep found it: its user, its token file, and what failed (null: nothing).</summary>
public sealed record ForgeAccount(bool User, bool Token, string? Error, DateTimeOffset CheckedAt)
{
    /// <summary>Same facts (when they were checked aside): no event for a sweep that changed nothing.</summary>
    public bool SameAs(ForgeAccount? other) => other is not null && other.User == User && other.Token == Token && other.Error == Error;
}

/// <summary>An agent's forge account changed; the row's <c>forge</c> field, as <c>/api/state</c> has it.</summary>
public sealed record ForgeAccountChanged(string Agent, ForgeAccount Forge) : IDashboardEvent
{
    public string EventType => "forge_account_changed";
    public object Payload => new { agent = Agent, forge = Forge };
}
