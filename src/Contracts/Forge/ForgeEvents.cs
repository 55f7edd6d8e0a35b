namespace Hive.Contracts.Forge;

/// <summary>An agent's forge account as the last sweep found it: its user, its token file, and what failed (null: nothing).</summary>
public sealed record ForgeAccount(bool User, bool Token, string? Error, DateTimeOffset CheckedAt)
{
    /// <summary>Same facts (when they were checked aside): no event for a sweep that changed nothing.</summary>
    public bool SameAs(ForgeAccount? other) => other is not null && other.User == User && other.Token == Token && other.Error == Error;
}

/// <summary><c>forge_account_changed</c>: the row's <c>forge</c> field, as <c>/api/state</c> has it.</summary>
public sealed record ForgeAccountChangedPayload(string Agent, ForgeAccount Forge);
