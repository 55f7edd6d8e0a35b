using MediatR;

namespace Hive.Shared.Agents;

/// <summary>
/// How many agents are in each state (<c>running</c>, <c>stopped</c>, <c>failed</c> …). Declared here for features below
/// the registry (the constellation's heartbeat); answered by Containers, which owns the states.
/// </summary>
public sealed record CountAgentsByState : IRequest<IReadOnlyDictionary<string, int>>;
