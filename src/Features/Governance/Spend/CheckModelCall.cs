using MediatR;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// The gateway's question before it forwards a model call: may <see cref="Query.Agent"/> spend on
/// <see cref="Query.Provider"/> now? Answered from memory. Refused when the agent or the hive is over a budget (day or
/// month, cost or tokens), halted, paused, or the provider's circuit is open; the refusal says why in a person's words,
/// and a budget refusal raises the budget question as a held <c>begin_turn</c> does (one while it is open).
/// </summary>
public static class CheckModelCall
{
    public sealed record Query(string Agent, string Provider) : IRequest<Verdict>;

    /// <param name="Refusal">A person's sentence ("hive: alice is over its daily budget ($2.04 of $2.00); the operator has been asked"); null when allowed.</param>
    /// <param name="Reason">What refused it: <c>budget</c>, <c>halted</c>, <c>paused</c> or <c>quota</c>; null when allowed.</param>
    /// <param name="TurnId">The agent's open granted turn, which the call belongs to; null when none is open.</param>
    /// <param name="RetryAt">When the refusal lifts by itself (a circuit's reset), when known.</param>
    public sealed record Verdict(bool Allowed, string? Refusal, string? Reason, long? TurnId, DateTimeOffset? RetryAt = null);

    // TODO(helper: governance): the real answer. Until then every call may go.
    internal sealed class Handler : IRequestHandler<Query, Verdict>
    {
        public Task<Verdict> Handle(Query query, CancellationToken cancellationToken) =>
            Task.FromResult(new Verdict(true, null, null, null));
    }
}
