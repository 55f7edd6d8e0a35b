using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Hive.Contracts.Json;

namespace Hive.Shared.Agents;

/// <summary>
/// An agent as the dashboard shows it (<c>/api/state</c> <c>agents[]</c>, <c>container_state_changed</c>): the
/// directory's facts (<c>name</c>, <c>kind</c>, <c>state_dir</c>) followed by each feature's own, which the features
/// give as typed records through <see cref="AgentRowContributor{TFacts}"/>. The wire names come from the records'
/// property names, so no feature spells a key by hand, and two features claiming one name fail at once.
/// </summary>
[JsonConverter(typeof(Converter))]
public sealed class AgentRow
{
    // The facts themselves, written when the row is: a snapshot of 200 agents built four JSON documents per row before.
    private readonly List<(object Facts, JsonTypeInfo Info)> _facts = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    internal AgentRow(AgentInfo agent)
    {
        Agent = agent;
        Add(new DirectoryFacts(agent.Name, agent.Kind, agent.StateDir));
    }

    public AgentInfo Agent { get; }
    public string Name => Agent.Name;

    /// <summary>Appends the properties of <paramref name="facts"/> (named by the wire's snake_case policy).</summary>
    internal void Add<TFacts>(TFacts facts) where TFacts : class
    {
        var info = HiveJson.Options.GetTypeInfo(typeof(TFacts));
        if (info.Kind != JsonTypeInfoKind.Object)
            throw new InvalidOperationException($"{typeof(TFacts).Name} must serialize to a JSON object to join an agent row");
        foreach (var property in info.Properties)
            if (!_names.Add(property.Name))
                throw new InvalidOperationException($"agent rows get '{property.Name}' twice (again from {typeof(TFacts).Name})");
        _facts.Add((facts, info));
    }

    /// <summary>
    /// The row's field <paramref name="name"/> (its wire name) when it holds a string; null when it is absent, null or not a
    /// string. Read from the facts, without writing the row: for a slice that acts on another's field (as the wire shows it).
    /// </summary>
    public string? StringOf(string name)
    {
        foreach (var (facts, info) in _facts)
            foreach (var property in info.Properties)
                if (property.Name == name)
                    return property.Get?.Invoke(facts) as string;
        return null;
    }

    private sealed record DirectoryFacts(string Name, string Kind, string StateDir);

    private sealed class Converter : JsonConverter<AgentRow>
    {
        public override AgentRow Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("agent rows are written, never read");

        public override void Write(Utf8JsonWriter writer, AgentRow value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var (facts, info) in value._facts)
            {
                foreach (var property in info.Properties)
                {
                    if (property.Get is not { } get) continue;
                    var field = get(facts);
                    if (property.ShouldSerialize is { } should && !should(facts, field)) continue;
                    writer.WritePropertyName(property.Name);
                    JsonSerializer.Serialize(writer, field, property.PropertyType, HiveJson.Options);
                }
            }
            writer.WriteEndObject();
        }
    }
}

/// <summary>
/// A feature's part of every agent row. Derive from <see cref="AgentRowContributor{TFacts}"/>; register as
/// <c>AddTransient&lt;AgentRowContributor, YourContributor&gt;()</c>. Contributors see the directory's facts only, never
/// each other's, so their order does not matter.
/// </summary>
public abstract class AgentRowContributor
{
    private protected AgentRowContributor()
    {
    }

    internal abstract Task ContributeAsync(IReadOnlyList<AgentRow> rows, CancellationToken cancellationToken);
}

/// <typeparam name="TFacts">A record whose properties join the row (e.g. <c>PendingReminders</c> → <c>pending_reminders</c>).</typeparam>
public abstract class AgentRowContributor<TFacts> : AgentRowContributor where TFacts : class
{
    /// <summary>
    /// This feature's facts on each of <paramref name="agents"/>, by name; every agent must have one. Runs under the
    /// <see cref="Dashboard.StateChangeGate"/> (a snapshot or a directory change): read only, never take the gate.
    /// </summary>
    protected abstract Task<IReadOnlyDictionary<string, TFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken);

    internal sealed override async Task ContributeAsync(IReadOnlyList<AgentRow> rows, CancellationToken cancellationToken)
    {
        var facts = await ReadAsync(rows.Select(r => r.Agent).ToList(), cancellationToken);
        foreach (var row in rows)
        {
            if (!facts.TryGetValue(row.Name, out var fact))
                throw new InvalidOperationException($"{GetType().Name} gave no {typeof(TFacts).Name} for agent '{row.Name}'");
            row.Add(fact);
        }
    }
}

/// <summary>Builds agent rows: the directory's facts, then every feature's.</summary>
public sealed class AgentRows(IEnumerable<AgentRowContributor> contributors)
{
    public async Task<IReadOnlyList<AgentRow>> BuildAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var rows = agents.Select(a => new AgentRow(a)).ToList();
        foreach (var contributor in contributors) await contributor.ContributeAsync(rows, cancellationToken);
        return rows;
    }
}
