namespace Hive.Contracts.Agents;

/// <summary><c>container_removed</c>: an agent left the directory.</summary>
public sealed record AgentRemovedPayload(string Name);
