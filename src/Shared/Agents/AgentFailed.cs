using Hive.Shared.Changes;
using MediatR;

namespace Hive.Shared.Agents;

/// <summary>
/// An agent's restarts ran out and it is now <c>failed</c>: sent by the feature that runs agents inside the change that
/// records it, so that the one that watches for crash loops (Governance) asks the operator in that same change.
/// </summary>
public sealed record AgentFailed(string Agent, string How, DateTimeOffset At) : IRequest, IChangesState;
