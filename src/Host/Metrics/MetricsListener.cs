using System.Diagnostics.Metrics;
using Hive.Host.Auth;
using Hive.Shared.Errors;
using Hive.Shared.Metrics;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace Hive.Host.Metrics;

/// <summary>
/// <c>GET /metrics</c> (Prometheus text exposition) on a listener of its own, <c>Hive:Metrics:Urls</c>: off when empty
/// (the default). It is a second, bare Kestrel server with that one route, never the dashboard's: it has no sign-in, so
/// none of the operator's routes may be reachable through it, and the dashboard's port has no <c>/metrics</c>.
/// </summary>
internal sealed class MetricsListener : IHostedService, IAsyncDisposable
{
    public const string UrlsKey = "Hive:Metrics:Urls";

    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public const int MaxConnections = 16;

    public sealed record Settings(IReadOnlyList<ListenAddress> Addresses);

    private readonly Settings _settings;
    private readonly IServiceProvider _services;
    private readonly ILogger<MetricsListener> _logger;
    // A registry of this host's own: the process-wide default one would mix two hosts (tests) and add process series.
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly MeterBridge _bridge;
    private WebApplication? _server;

    /// <summary>
    /// Listens to the meters from here on: built before anything can measure (see <see cref="Attach"/>), since a counter's
    /// first figures (the per-agent zeros) are recorded when its feature's metrics are built, by whoever needs them first.
    /// </summary>
    public MetricsListener(Settings settings, IServiceProvider services, IMeterFactory meters, ILogger<MetricsListener> logger)
    {
        _settings = settings;
        _services = services;
        _logger = logger;
        _bridge = new MeterBridge(meters, _registry, logger);
    }

    /// <summary>Right after the app is built, before any hosted service or handler is: builds the listener (when configured).</summary>
    public static void Attach(IServiceProvider services) => services.GetService<MetricsListener>();

    /// <summary>
    /// Reads and checks <see cref="UrlsKey"/> before anything starts (a bad address is a one-line refusal, not a stack
    /// trace after the hive is up), and registers the listener when it is set.
    /// </summary>
    public static void Configure(WebApplicationBuilder builder)
    {
        var urls = (builder.Configuration[UrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0) return;
        var dashboardPorts = ListenAddresses.From(builder.Configuration).Select(PortOf).Where(p => p > 0).ToHashSet();
        var addresses = new List<ListenAddress>();
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/"
                || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
                throw new HiveStartupException($"{UrlsKey}: '{url}' is not an http://address:port URL (for example http://127.0.0.1:9464)");
            var address = ListenAddresses.Parse(url);
            if (PortOf(address) is var port && port > 0 && dashboardPorts.Contains(port))
                throw new HiveStartupException($"{UrlsKey}: '{url}' uses the dashboard's port {port}; metrics have a listener of their own");
            addresses.Add(address);
        }
        builder.Services.AddSingleton(new Settings(addresses));
        builder.Services.AddSingleton<MetricsListener>();
        builder.Services.AddHostedService(p => p.GetRequiredService<MetricsListener>());
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Every feature's instruments exist from now on, observable gauges included (they are read at each scrape).
        foreach (var _ in _services.GetServices<HiveMetrics>()) { }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls([.. _settings.Addresses.Select(a => a.Url)])
            // A scraper or two, never a crowd: it must not take descriptors the agents' connections are budgeted.
            .ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = MaxConnections);
        // The hive's own lifetime runs this server: it must not answer SIGTERM or hold the process on its own.
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>();
        var server = builder.Build();
        // DNS rebinding: a page on another name must not read agent names and counts through the browser, so the listener
        // answers to the dashboard's names (AllowedHosts included) and its own addresses' (a scraper's Host is its target).
        var allowed = new AllowedHosts(_services.GetRequiredService<OperatorAuthSettings>().AllowedHosts
            .Concat(_settings.Addresses.Select(a => a.Host).Where(h => h is { Length: > 0 } and not ("*" or "+"))));
        server.Run(context => allowed.Allows(context.Request.Host) ? ServeAsync(context, _registry) : AllowedHosts.RefuseAsync(context));
        _server = server;
        try
        {
            await server.StartAsync(cancellationToken);
        }
        catch (IOException bind) when (bind.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            throw new HiveStartupException($"{UrlsKey}: {bind.Message.TrimEnd('.')}: another process is listening there");
        }

        foreach (var address in _settings.Addresses.Where(a => !a.IsLoopback))
            _logger.LogWarning("metrics are served on {Address}, which is not a loopback address: anyone who can reach it reads them (no sign-in)", address.Url);
        _logger.LogInformation("metrics: GET /metrics on {Urls}", string.Join(", ", server.Urls));
    }

    private static async Task ServeAsync(HttpContext context, CollectorRegistry registry)
    {
        if (context.Request.Path != "/metrics")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET";
            return;
        }
        // Collected into memory first: the exposition is small, and the response then has its length and no sync writes.
        using var buffer = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(buffer, context.RequestAborted);
        context.Response.ContentType = ContentType;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = buffer.Length;
        buffer.Position = 0;
        await buffer.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server) await server.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is { } server) await server.DisposeAsync();
        _bridge.Dispose();
    }

    private static int PortOf(ListenAddress address)
    {
        try
        {
            return Microsoft.AspNetCore.Http.BindingAddress.Parse(address.Url).Port;
        }
        catch (FormatException)
        {
            return 0;
        }
    }

    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
