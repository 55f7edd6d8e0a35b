using System.Diagnostics.Metrics;
using Hive.Features.Gateway.Calls;
using Hive.Shared.Metrics;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Gateway;

/// <summary>
/// The gateway's model calls, counted from <see cref="ModelCallEnded"/> (published after the call's row commits): calls by
/// provider, model and state; tokens by provider, model and kind; cost by provider and model; the provider's latency
/// (the whole call, and its first byte) by provider; refusals by reason; and the gateway's own time before a call leaves (<see cref="Overhead"/>). The model is what the request or the provider
/// named, bounded (<see cref="BoundedLabel"/>); the providers are the configured ones.
/// </summary>
/// <remarks>
/// Series at 0 before their first increment: every provider × each model its price table names × each state and token
/// kind, and every refusal reason, at start-up; any other model's label set is shown at 0 for one scrape first by the
/// exporter (MeterBridge), as the turns' are.
/// </remarks>
public sealed class GatewayMetrics : HiveMetrics
{
    public static readonly IReadOnlyList<string> States = ["complete", "failed", "refused", "interrupted"];
    public static readonly IReadOnlyList<string> TokenKinds = ["input", "output", "cache_read", "cache_write"];

    /// <summary>
    /// Why a call was refused (Governance's reasons), read from its status and sentence: <c>quota</c> (a 429: its provider's
    /// circuit is open), <c>budget</c>, <c>halted</c>, <c>paused</c>, else <c>other</c>.
    /// </summary>
    public static readonly IReadOnlyList<string> RefusalReasons = ["budget", "quota", "halted", "paused", BoundedLabel.Other];

    private readonly Counter<long> _calls;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _firstByte;
    private readonly Histogram<double> _overhead;
    private readonly BoundedLabel _models = new();

    public GatewayMetrics(IMeterFactory meters, IOptions<GatewayOptions> options) : base(meters, "Gateway")
    {
        _calls = Meter.CreateCounter<long>("hive_model_calls_total", description: "Model calls through the gateway, by provider, model and state (complete, failed, refused, interrupted).");
        _tokens = Meter.CreateCounter<long>("hive_model_call_tokens_total",
            description: "Tokens of model calls as the provider counted them, by provider, model and kind (input, output, cache_read, cache_write).");
        _cost = Meter.CreateCounter<double>("hive_model_call_cost_usd_total", description: "Cost in USD of model calls at the provider's prices, by provider and model.");
        _refusals = Meter.CreateCounter<long>("hive_model_calls_refused_total",
            description: "Model calls the gateway refused before the provider saw them, by provider and reason (budget, quota, halted, paused, other).");
        _duration = LatencyHistogram("hive_model_call_duration_seconds", "Model calls that reached the provider: the whole call, by provider.");
        _firstByte = LatencyHistogram("hive_model_call_first_byte_seconds", "Model calls that reached the provider: time to the provider's first byte, by provider.");
        _overhead = Meter.CreateHistogram("hive_gateway_overhead_seconds", "s",
            "Model calls that reached the provider: the time the gateway took before the call left for it (its checks, the key; not a wait for a slot), by provider.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1] });
        foreach (var (provider, p) in options.Value.Providers)
        {
            foreach (var model in p.Prices.Keys.Where(m => m != "*").Order(StringComparer.Ordinal))
                Add(provider, model, 0, null, null, 0, 0, 0, 0, zero: true);
            foreach (var reason in RefusalReasons) _refusals.Add(0, new("provider", provider), new("reason", reason));
        }
    }

    internal void Ended(ModelCallEnded call)
    {
        var provider = new KeyValuePair<string, object?>("provider", call.Provider);
        Add(call.Provider, call.Model, 1, call.State, call.CostUsd, call.InputTokens, call.OutputTokens, call.CacheReadTokens, call.CacheWriteTokens, zero: false);
        if (call.State == "refused") _refusals.Add(1, provider, new("reason", ReasonOf(call.Status, call.Error)));
        else if (call.State is "complete" or "failed")
        {
            if (call.DurationMs is { } ms) _duration.Record(ms / 1000, provider);
            if (call.FirstByteMs is { } first) _firstByte.Record(first / 1000, provider);
        }
    }

    /// <summary>The time a call spent in the gateway before it left for its provider (measured by the call itself, not its row).</summary>
    internal void Overhead(string provider, TimeSpan spent) => _overhead.Record(spent.TotalSeconds, new KeyValuePair<string, object?>("provider", provider));

    /// <summary>The refusal's reason from its status (429: quota) and Governance's sentence.</summary>
    public static string ReasonOf(int? status, string? error)
    {
        if (status == 429) return "quota";
        var text = error ?? "";
        foreach (var reason in new[] { "budget", "halted", "paused", "quota" })
            if (text.Contains(reason, StringComparison.OrdinalIgnoreCase)) return reason;
        return BoundedLabel.Other;
    }

    private void Add(string providerName, string? modelName, long calls, string? state, double? cost, long input, long output, long cacheRead, long cacheWrite, bool zero)
    {
        var provider = new KeyValuePair<string, object?>("provider", providerName);
        var model = new KeyValuePair<string, object?>("model", _models.Of(modelName));
        if (zero) foreach (var s in States) _calls.Add(0, provider, model, new("state", s));
        else _calls.Add(calls, provider, model, new("state", States.Contains(state) ? state : BoundedLabel.Other));
        _tokens.Add(input, provider, model, new("kind", TokenKinds[0]));
        _tokens.Add(output, provider, model, new("kind", TokenKinds[1]));
        _tokens.Add(cacheRead, provider, model, new("kind", TokenKinds[2]));
        _tokens.Add(cacheWrite, provider, model, new("kind", TokenKinds[3]));
        if (zero || cost is not null) _cost.Add(cost ?? 0, provider, model);
    }

    internal sealed class CountCall(GatewayMetrics metrics) : INotificationHandler<ModelCallEnded>
    {
        public Task Handle(ModelCallEnded notification, CancellationToken cancellationToken)
        {
            metrics.Ended(notification);
            return Task.CompletedTask;
        }
    }
}
