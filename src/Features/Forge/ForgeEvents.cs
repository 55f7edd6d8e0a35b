using Hive.Contracts.Forge;
using Hive.Shared.Dashboard;

namespace Hive.Features.Forge;

/// <summary>An agent's forge account changed; the row's <c>forge</c> field, as <c>/api/state</c> has it.</summary>
public sealed record ForgeAccountChanged(string Agent, ForgeAccount Forge) : IDashboardEvent<ForgeAccountChangedPayload>
{
    public string EventType => "forge_account_changed";
    public ForgeAccountChangedPayload Payload => new(Agent, Forge);
}
