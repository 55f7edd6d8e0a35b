using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// A model call the gateway metered: its cost and tokens are spent by the agent (and the hive) now, in the gateway's own
/// change that records the call, and belong to the turn <see cref="Command.TurnId"/> when one was open. A crossing tells
/// the operator as a recorded turn's does. The figures are the provider's own usage priced by the provider's table: facts,
/// not an agent's claim.
/// </summary>
public static class ChargeModelCall
{
    public sealed record Command(
        string Agent, string Provider, long? TurnId, string? Model,
        long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, double CostUsd) : IRequest, IChangesState
    {
        public long Tokens => InputTokens + OutputTokens + CacheReadTokens + CacheWriteTokens;
    }

    // TODO(helper: governance): count the spend. Until then nothing is counted.
    internal sealed class Handler : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken) => Task.FromResult(Unit.Value);
    }
}
