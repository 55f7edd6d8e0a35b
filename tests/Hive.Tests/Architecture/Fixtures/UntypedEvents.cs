using Hive.Contracts.Agents;
using Hive.Shared.Dashboard;

namespace Hive.Tests.Architecture.Fixtures;

/// <summary>Deliberate violations (and one event that keeps the rule) for <see cref="EventPayloadTests"/>.</summary>
public static class UntypedEvents
{
    public sealed record Anonymous(string Agent) : IDashboardEvent
    {
        public string EventType => "anonymous";
        public object Payload => new { agent = Agent };
    }

    public sealed record Untyped(string Agent) : IDashboardEvent<object>
    {
        public string EventType => "untyped";
        public object Payload => Agent;
    }

    public sealed record Keyed(string Agent) : IDashboardEvent<Dictionary<string, object?>>
    {
        public string EventType => "keyed";
        public Dictionary<string, object?> Payload => new() { ["agent"] = Agent };
    }

    public sealed record OwnPayload(string Agent);

    public sealed record OwnRecord(string Agent) : IDashboardEvent<OwnPayload>
    {
        public string EventType => "own_record";
        public OwnPayload Payload => new(Agent);
    }

    public sealed record Typed(string Name) : IDashboardEvent<AgentRemovedPayload>
    {
        public string EventType => "typed";
        public AgentRemovedPayload Payload => new(Name);
    }
}
