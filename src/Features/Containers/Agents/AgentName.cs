using Hive.Shared.Agents;
using Hive.Shared.Errors;

namespace Hive.Features.Containers;

/// <summary>An agent's name from a route: checked before it is used anywhere, a path above all.</summary>
internal static class AgentName
{
    public static string Checked(string? name) =>
        AgentNames.IsWellFormed(name) ? name! : throw new BadRequestException("an agent name matches ^[a-z][a-z0-9-]{0,30}$");
}
