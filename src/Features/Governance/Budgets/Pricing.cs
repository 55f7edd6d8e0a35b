using Hive.Shared.Turns;

namespace Hive.Features.Governance;

/// <summary>What a turn cost: what its agent said (Claude Code's <c>total_cost_usd</c>), else its tokens at the configured price of its model, else unknown.</summary>
internal static class Pricing
{
    public const string Metered = "metered";
    public const string Reported = "reported";
    public const string Priced = "priced";
    public const string Unknown = "unknown";

    public static (double? Usd, string Source) CostOf(TurnReport turn, IReadOnlyDictionary<string, ModelPrice> prices)
    {
        if (turn.CostUsd is { } reported) return (reported, Reported);
        if (turn.Model is null || !prices.TryGetValue(turn.Model, out var price)) return (null, Unknown);
        var usd = (turn.InputTokens * price.InputPerMtok + turn.OutputTokens * price.OutputPerMtok
                   + turn.CacheReadTokens * price.CacheReadPerMtok + turn.CacheCreationTokens * price.CacheWritePerMtok) / 1_000_000;
        return (usd, Priced);
    }
}
