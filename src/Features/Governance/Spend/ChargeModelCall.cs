using FluentValidation;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Governance.Spend;

/// <summary>
/// A model call the gateway metered: its cost and tokens are spent by the agent (and the hive) now, in the gateway's own
/// change that records the call, and belong to the turn <see cref="Command.TurnId"/> when one was open (its metered sums,
/// which account the turn when it is recorded). A crossing tells the operator as a recorded turn's does. The figures are
/// the provider's own usage priced by the provider's table: facts, not an agent's claim.
/// </summary>
public static class ChargeModelCall
{
    public sealed record Command(
        string Agent, string Provider, long? TurnId, string? Model,
        long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, double CostUsd) : IRequest, IChangesState
    {
        public long Tokens => InputTokens + OutputTokens + CacheReadTokens + CacheWriteTokens;
    }

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Agent).NotEmpty().WithName("agent");
            RuleFor(c => c).Must(c => new[] { c.InputTokens, c.OutputTokens, c.CacheReadTokens, c.CacheWriteTokens }.All(t => t >= 0))
                .WithName("tokens").WithMessage("a call's tokens are never negative");
            RuleFor(c => c.CostUsd).Must(cost => double.IsFinite(cost) && cost >= 0).WithName("cost_usd").WithMessage("a call's cost is a non-negative number");
        }
    }

    internal sealed class Handler(StateChanges changes, Spending spending, TimeProvider clock) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            // The turn's sums (durable: the turn is accounted by them when it is recorded, also after a restart). A call that
            // outlived its turn still counts there; a turn of another agent is not this call's.
            var turnId = command.TurnId is { } id && change.Execute("""
                UPDATE governed_turns SET metered_calls = metered_calls + 1,
                    metered_input_tokens = metered_input_tokens + @InputTokens, metered_output_tokens = metered_output_tokens + @OutputTokens,
                    metered_cache_read_tokens = metered_cache_read_tokens + @CacheReadTokens,
                    metered_cache_write_tokens = metered_cache_write_tokens + @CacheWriteTokens,
                    metered_cost_usd = metered_cost_usd + @CostUsd
                WHERE id = @TurnId AND agent = @Agent
                """, command) == 1 ? id : (long?)null;
            await spending.CountAsync(change, command.Agent, clock.GetUtcNow(), command.CostUsd, Pricing.Metered, command.Tokens, turnId);
            return Unit.Value;
        }
    }
}
