using Microsoft.Extensions.Options;

namespace Hive.Features.Gateway;

public static class ProviderProtocols
{
    public const string Anthropic = "anthropic";
    public const string OpenAi = "openai";
    public const string Gemini = "gemini";
}

/// <summary>
/// The providers the gateway serves, resolved once from <c>Hive:Gateway:Providers</c> (checked at start-up by
/// <see cref="GatewayFeature"/>): each with its upstream, its key's secret name, its prices and its slots.
/// </summary>
internal sealed class GatewayProviders
{
    private readonly Dictionary<string, Provider> _byName;

    public GatewayProviders(IOptions<GatewayOptions> options)
    {
        var o = options.Value;
        _byName = o.Providers.ToDictionary(p => p.Key, p => new Provider(p.Key, p.Value, o.UpstreamTimeoutSeconds), StringComparer.Ordinal);
    }

    public Provider? Find(string name) => _byName.GetValueOrDefault(name);

    public IEnumerable<Provider> All => _byName.Values.OrderBy(p => p.Name, StringComparer.Ordinal);

    /// <summary>The base URL of the provider <c>anthropic</c> as shipped.</summary>
    public const string AnthropicUpstream = "https://api.anthropic.com";

    /// <summary><c>anthropic</c> is always there: its public URL and the secret <c>anthropic</c> unless configured otherwise.</summary>
    public static void AddShipped(GatewayOptions options)
    {
        if (!options.Providers.TryGetValue(ProviderProtocols.Anthropic, out var anthropic))
            options.Providers[ProviderProtocols.Anthropic] = anthropic = new ProviderOptions();
        if (anthropic.Protocol.Length == 0) anthropic.Protocol = ProviderProtocols.Anthropic;
        if (anthropic.Upstream.Length == 0) anthropic.Upstream = AnthropicUpstream;
        if (anthropic.KeySecret.Length == 0) anthropic.KeySecret = "anthropic";
    }

    /// <summary>The first problem with the configuration, as <c>key: reason</c>; null when it is sound.</summary>
    public static string? ProblemWith(GatewayOptions options)
    {
        foreach (var (name, p) in options.Providers)
        {
            var key = $"Hive:Gateway:Providers:{name}";
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z][a-z0-9-]{0,30}$"))
                return $"{key}: a provider's name must match ^[a-z][a-z0-9-]{{0,30}}$";
            if (p.Protocol is not (ProviderProtocols.Anthropic or ProviderProtocols.OpenAi or ProviderProtocols.Gemini))
                return $"{key}:Protocol: must be anthropic, openai or gemini (it is '{p.Protocol}')";
            if (!Uri.TryCreate(p.Upstream, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https") || upstream.Query.Length > 0)
                return $"{key}:Upstream: must be an absolute http or https URL without a query (it is '{p.Upstream}')";
            if (p.KeySecret.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(p.KeySecret, "^[a-z][a-z0-9_-]{0,63}$"))
                return $"{key}:KeySecret: must be a secret's name (^[a-z][a-z0-9_-]{{0,63}}$)";
            if (p.MaxInFlight is { } slots && slots is < 1 or > 10_000) return $"{key}:MaxInFlight: must be 1 to 10000";
            if (p.MaxQueueSeconds is < 1 or > 86_400) return $"{key}:MaxQueueSeconds: must be 1 to 86400";
            if (p.Serve is { } serve && Served.ServedProviders.ProblemWith(serve, p) is { } served) return $"{key}:Serve:{served}";
            foreach (var (model, price) in p.Prices)
                if (new[] { price.InputPerMtok, price.OutputPerMtok, price.CacheReadPerMtok, price.CacheWritePerMtok }.Any(v => v < 0 || !double.IsFinite(v)))
                    return $"{key}:Prices:{model}: prices must be non-negative numbers (USD per million tokens)";
        }
        if (options.MaxRequestBytes is < 1024 or > 1L << 30) return "Hive:Gateway:MaxRequestBytes: must be 1024 to 1073741824";
        if (options.UpstreamTimeoutSeconds is < 1 or > 86_400) return "Hive:Gateway:UpstreamTimeoutSeconds: must be 1 to 86400";
        if (options.Recordings.Days is < 0 or > 3650) return "Hive:Gateway:Recordings:Days: must be 0 (off) to 3650";
        if (options.Recordings.MaxMiB is < 1 or > 1L << 20) return "Hive:Gateway:Recordings:MaxMiB: must be 1 to 1048576";
        return null;
    }
}

/// <summary>One provider as the gateway serves it.</summary>
internal sealed class Provider(string name, ProviderOptions options, int timeoutSeconds)
{
    public string Name => name;
    public string Protocol => options.Protocol;
    public Uri Upstream { get; } = new(options.Upstream.TrimEnd('/') + "/");
    public string KeySecret => options.KeySecret;
    public int? MaxInFlight => options.MaxInFlight ?? options.Serve?.Slots;
    public int? Context => options.Serve?.Context;
    public ServeOptions? Serve => options.Serve;
    public TimeSpan MaxQueue => TimeSpan.FromSeconds(options.MaxQueueSeconds);

    /// <summary>Its slots: waiters are served oldest first (SemaphoreSlim queues async waiters in order).</summary>
    public SemaphoreSlim? Slots { get; } = (options.MaxInFlight ?? options.Serve?.Slots) is { } n ? new SemaphoreSlim(n, n) : null;

    /// <summary>Waits in line for one of its slots, up to <see cref="MaxQueue"/>: whether one was taken and how long it waited; null when the caller went away.</summary>
    public async Task<(bool Taken, TimeSpan QueuedFor)?> TakeSlotAsync(System.Diagnostics.Stopwatch watch, CancellationToken cancellationToken)
    {
        var queuedAt = watch.Elapsed;
        Queued();
        try
        {
            return (await Slots!.WaitAsync(MaxQueue, cancellationToken), watch.Elapsed - queuedAt);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            Dequeued();
        }
    }

    private int _inFlight;
    public int InFlight => Volatile.Read(ref _inFlight);
    public void Began() => Interlocked.Increment(ref _inFlight);
    public void Ended() => Interlocked.Decrement(ref _inFlight);

    private int _waiting;
    public int Waiting => Volatile.Read(ref _waiting);
    public void Queued() => Interlocked.Increment(ref _waiting);
    public void Dequeued() => Interlocked.Decrement(ref _waiting);

    /// <summary>One client per provider: connections pooled, nothing decompressed, no redirects, no proxy of the environment's.</summary>
    public HttpMessageInvoker Client { get; } = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(Math.Min(30, timeoutSeconds)),
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = null,
    }, disposeHandler: true);

    /// <summary>The call's cost from the provider's usage at this provider's price of the model; null when the model has no price.</summary>
    public double? CostOf(string? model, Usage usage)
    {
        if (model is null) return null;
        if (!options.Prices.TryGetValue(model, out var price) && !options.Prices.TryGetValue("*", out price)) return null;
        return (usage.Input * price.InputPerMtok + usage.Output * price.OutputPerMtok
                + usage.CacheRead * price.CacheReadPerMtok + usage.CacheWrite * price.CacheWritePerMtok) / 1_000_000;
    }
}

/// <summary>Tokens of one call as the provider counted them.</summary>
internal sealed record Usage(long Input, long Output, long CacheRead, long CacheWrite)
{
    public static readonly Usage None = new(0, 0, 0, 0);
    public long Total => Input + Output + CacheRead + CacheWrite;
}
