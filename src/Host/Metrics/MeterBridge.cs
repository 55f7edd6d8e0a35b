using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Hive.Shared.Metrics;
using Prometheus;

namespace Hive.Host.Metrics;

/// <summary>
/// Carries this host's <c>Hive.*</c> meters into a prometheus-net registry of its own. prometheus-net's MeterAdapter
/// does not fit: it exports every counter as a gauge (so <c>hive_messages_sent_total</c> would be a gauge, which
/// promtool flags and <c>rate()</c> readers misread), names series <c>meter_instrument</c>, and drops any series not
/// updated for five minutes (a quiet counter would vanish and come back from 0). Here an instrument's name is its
/// series' name, a counter stays a counter, nothing expires, and a histogram takes the buckets its instrument advises.
/// A counter's new label set is shown at 0 for one scrape before it carries its first increment (<see cref="Pending"/>):
/// Prometheus' <c>increase()</c> and <c>rate()</c> count only what a series gained between two of its samples, so a series
/// whose first sample is already 1 would lose that first turn or message (and, after a restart, the first one since).
/// </summary>
internal sealed class MeterBridge : IDisposable
{
    private readonly IMeterFactory _meters;
    private readonly IMetricFactory _factory;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _observing = new();
    // New counter label sets waiting to have their 0 scraped before their first increments are added (see Release).
    private readonly Dictionary<(Series Series, string Key), Pending> _pending = [];
    private readonly Lock _pendingLock = new();
    private readonly ILogger _logger;

    public MeterBridge(IMeterFactory meters, CollectorRegistry registry, ILogger logger)
    {
        _meters = meters;
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _logger = logger;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this host's meters: another host in the same process (tests) has a factory of its own.
            if (instrument.Meter.Scope == _meters && instrument.Meter.Name.StartsWith(HiveMetrics.MeterPrefix, StringComparison.Ordinal))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Record(i, value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, _) => Record(i, value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Record(i, value, tags));
        _listener.Start();
        // Observable instruments (gauges read from the features' state) are read once per scrape, just before it.
        registry.AddBeforeCollectCallback(Observe);
    }

    private void Observe()
    {
        Release();
        lock (_observing)
        {
            var observed = _series.Values.Where(s => s.IsObservable).ToList();
            foreach (var series in observed) series.Seen.Clear();
            _listener.RecordObservableInstruments();
            // A label set the callback no longer reports (a removed agent) leaves the exposition.
            foreach (var series in observed)
                foreach (var values in series.AllLabelValues().ToList())
                    if (!series.Seen.Contains(Key(values))) series.Remove(values);
        }
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Never throw into the instrument's caller (a feature's handler).
        try
        {
            var names = new string[tags.Length];
            for (var i = 0; i < tags.Length; i++) names[i] = tags[i].Key;
            Array.Sort(names, StringComparer.Ordinal);
            var series = _series.GetOrAdd(instrument, Create, names);
            if (!series.LabelNames.SequenceEqual(names))
            {
                _logger.LogWarning("metrics: {Series} got labels ({Got}) other than its first ({Want}); measurement dropped",
                    instrument.Name, string.Join(",", names), string.Join(",", series.LabelNames));
                return;
            }
            var values = new string[names.Length];
            foreach (var tag in tags) values[Array.IndexOf(names, tag.Key)] = tag.Value?.ToString() ?? "";

            switch (series.Kind)
            {
                case Kind.Counter:
                    if (value >= 0) Count(series, values, value);
                    break;
                case Kind.ObservedCounter:
                    // An observed counter reports its running total: a lower one is a reset (the series starts again).
                    var counter = (Counter)series.Collector;
                    if (value < counter.WithLabels(values).Value) counter.RemoveLabelled(values);
                    counter.WithLabels(values).IncTo(value);
                    series.Seen.Add(Key(values));
                    break;
                case Kind.ObservedGauge:
                    ((Gauge)series.Collector).WithLabels(values).Set(value);
                    series.Seen.Add(Key(values));
                    break;
                case Kind.UpDownCounter:
                    ((Gauge)series.Collector).WithLabels(values).Inc(value);
                    break;
                case Kind.Gauge:
                    ((Gauge)series.Collector).WithLabels(values).Set(value);
                    break;
                case Kind.Histogram:
                    ((Prometheus.Histogram)series.Collector).WithLabels(values).Observe(value);
                    break;
            }
        }
        catch (Exception e)
        {
            _logger.LogWarning("metrics: recording {Series} failed: {Error}", instrument.Name, e.Message);
        }
    }

    private void Count(Series series, string[] values, double value)
    {
        var counter = (Counter)series.Collector;
        var key = Key(values);
        if (series.Started.ContainsKey(key))
        {
            counter.WithLabels(values).Inc(value);
            return;
        }
        lock (_pendingLock)
        {
            if (series.Started.ContainsKey(key)) counter.WithLabels(values).Inc(value);
            else if (_pending.TryGetValue((series, key), out var pending)) pending.Sum += value;
            else
            {
                counter.WithLabels(values); // the series, at 0
                if (value == 0) series.Started[key] = true;
                else _pending[(series, key)] = new Pending(values, value);
            }
        }
    }

    /// <summary>
    /// At the start of each scrape: the increments of a label set whose 0 an earlier scrape has shown are added now; the
    /// label sets made since are marked, so this scrape shows their 0 and the next one their figures. (A label set made
    /// while this scrape exports may be shown at 0 by it or not: either way it is marked only at the next one.)
    /// </summary>
    private void Release()
    {
        lock (_pendingLock)
        {
            foreach (var ((series, key), pending) in _pending.ToList())
            {
                if (!pending.Shown)
                {
                    pending.Shown = true;
                    continue;
                }
                ((Counter)series.Collector).WithLabels(pending.Values).Inc(pending.Sum);
                series.Started[key] = true;
                _pending.Remove((series, key));
            }
        }
    }

    private Series Create(Instrument instrument, string[] labelNames)
    {
        var type = instrument.GetType();
        var kind = (type.IsGenericType ? type.GetGenericTypeDefinition() : type) switch
        {
            var t when t == typeof(Counter<>) => Kind.Counter,
            var t when t == typeof(ObservableCounter<>) => Kind.ObservedCounter,
            var t when t == typeof(ObservableGauge<>) || t == typeof(ObservableUpDownCounter<>) => Kind.ObservedGauge,
            var t when t == typeof(UpDownCounter<>) => Kind.UpDownCounter,
            var t when t == typeof(System.Diagnostics.Metrics.Histogram<>) => Kind.Histogram,
            _ => Kind.Gauge,
        };
        var help = instrument.Description ?? "";
        Collector collector = kind switch
        {
            Kind.Counter or Kind.ObservedCounter => _factory.CreateCounter(instrument.Name, help, labelNames),
            Kind.Histogram => _factory.CreateHistogram(instrument.Name, help, labelNames, new HistogramConfiguration { Buckets = Buckets(instrument) }),
            _ => _factory.CreateGauge(instrument.Name, help, labelNames),
        };
        return new Series(collector, kind, labelNames);
    }

    /// <summary>The instrument's advised bucket boundaries (<see cref="HiveMetrics.LatencyBuckets"/>), else those.</summary>
    private static double[] Buckets(Instrument instrument) => instrument switch
    {
        System.Diagnostics.Metrics.Histogram<double> { Advice.HistogramBucketBoundaries: { } advised } => [.. advised],
        System.Diagnostics.Metrics.Histogram<long> { Advice.HistogramBucketBoundaries: { } advised } => [.. advised.Select(b => (double)b)],
        _ => [.. HiveMetrics.LatencyBuckets],
    };

    private static string Key(string[] values) => string.Join('\0', values);

    public void Dispose() => _listener.Dispose();

    /// <summary>A new counter label set's increments, held until a scrape has shown it at 0.</summary>
    private sealed class Pending(string[] values, double sum)
    {
        public string[] Values { get; } = values;
        public double Sum { get; set; } = sum;
        public bool Shown { get; set; }
    }

    private enum Kind { Counter, ObservedCounter, ObservedGauge, UpDownCounter, Gauge, Histogram }

    private sealed record Series(Collector Collector, Kind Kind, string[] LabelNames)
    {
        public bool IsObservable => Kind is Kind.ObservedCounter or Kind.ObservedGauge;

        /// <summary>Label sets reported by the current scrape's observation (observable instruments only).</summary>
        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        /// <summary>Counter label sets whose 0 has been scraped (or that started at 0): their increments are added at once.</summary>
        public ConcurrentDictionary<string, bool> Started { get; } = new(StringComparer.Ordinal);

        public IEnumerable<string[]> AllLabelValues() => Collector switch
        {
            Counter c => c.GetAllLabelValues(),
            Gauge g => g.GetAllLabelValues(),
            _ => [],
        };

        public void Remove(string[] values)
        {
            if (Collector is Counter c) c.RemoveLabelled(values);
            else if (Collector is Gauge g) g.RemoveLabelled(values);
        }
    }
}
