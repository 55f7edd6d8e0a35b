using System.Diagnostics.Metrics;
using Hive.Shared.Agents;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Metrics;

/// <summary>
/// A feature's instruments (System.Diagnostics.Metrics, no package): one class per feature, holding its own
/// <see cref="Meter"/> made by the host's <see cref="IMeterFactory"/>, so two hosts in one process never mix their
/// figures. Instruments are named as the Prometheus series they become (<c>hive_messages_sent_total</c>): the host
/// exports them unchanged when <c>Hive:Metrics:Urls</c> is set, and a reader searching for a series finds its source.
/// Labels are bounded: agent names, fixed words, and <see cref="BoundedLabel"/> for values agents report; never a body.
/// </summary>
public abstract class HiveMetrics : IDisposable
{
    /// <summary>Every Hive meter's name starts with this; the exporter takes no other meter.</summary>
    public const string MeterPrefix = "Hive.";

    /// <summary>Latency buckets in seconds, from half a millisecond to a long-poll's 30 s.</summary>
    public static readonly IReadOnlyList<double> LatencyBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly List<IDisposable> _subscriptions = [];

    protected HiveMetrics(IMeterFactory meters, string feature) =>
        Meter = meters.Create(new MeterOptions(MeterPrefix + feature));

    protected Meter Meter { get; }

    protected Histogram<double> LatencyHistogram(string name, string description) =>
        Meter.CreateHistogram(name, "s", description, tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>
    /// Starts each per-agent counter at 0 for every agent now and every agent added later, so a series exists before its
    /// first event (a rate over a missing series is nothing, not 0). A removed agent's series stay: bounded by the agents.
    /// </summary>
    protected void SeedPerAgent(IAgentDirectory agents, params Counter<long>[] counters)
    {
        void Seed(string agent)
        {
            foreach (var counter in counters) counter.Add(0, new KeyValuePair<string, object?>("agent", agent));
        }
        var subscription = agents.Subscribe(change =>
        {
            if (change.Kind == AgentChangeKind.Added) Seed(change.Agent.Name);
        });
        _subscriptions.Add(subscription);
        foreach (var agent in subscription.Agents) Seed(agent.Name);
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions) subscription.Dispose();
        Meter.Dispose();
        GC.SuppressFinalize(this);
    }
}

public static class HiveMetricsRegistration
{
    /// <summary>
    /// Registers a feature's metrics class. The exporter builds every one at start-up (an observable gauge exists only
    /// once its class does); with the exporter off, one is built when a handler first needs it.
    /// </summary>
    public static IServiceCollection AddHiveMetrics<TMetrics>(this IServiceCollection services) where TMetrics : HiveMetrics
    {
        services.AddSingleton<TMetrics>();
        services.AddSingleton<HiveMetrics>(p => p.GetRequiredService<TMetrics>());
        return services;
    }
}
