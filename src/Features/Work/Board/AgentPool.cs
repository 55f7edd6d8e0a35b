using System.Text.Json;
using Hive.Features.Containers;
using Hive.Shared.Agents;
using Hive.Shared.Json;
using MediatR;

namespace Hive.Features.Work;

/// <summary>An agent as dispatch sees it: its capabilities, whether it is up to take work, and whether the governor holds it.</summary>
internal sealed record PoolAgent(string Name, IReadOnlyList<string> Capabilities, bool Up, string? Held)
{
    public bool Has(IEnumerable<string> any) => any.Any(Capabilities.Contains);
}

/// <summary>
/// The registry's agents with the facts dispatch needs, read through Containers' public listing (its rows' wire fields
/// <c>capabilities</c>, <c>state</c> and <c>driver</c>) and the governor's holds. An external agent, run by someone else,
/// counts as up.
/// </summary>
internal sealed class AgentPool(IWorkHolds holds)
{
    public async Task<IReadOnlyList<PoolAgent>> ListAsync(IMediator mediator, CancellationToken cancellationToken)
    {
        var rows = await mediator.Send(new ListAgents.Query(), cancellationToken);
        return rows.Select(row =>
        {
            var json = JsonSerializer.SerializeToElement(row, HiveJson.Options);
            var capabilities = json.TryGetProperty("capabilities", out var caps) && caps.ValueKind == JsonValueKind.Array
                ? caps.EnumerateArray().Select(c => c.GetString()!).ToList()
                : [];
            var up = Text(json, "driver") == "external" || (Text(json, "state") == "running" && Text(json, "transient") is null);
            return new PoolAgent(row.Name, capabilities, up, holds.HeldFor(row.Name));
        }).ToList();
    }

    private static string? Text(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
