using Hive.Contracts.Gateway;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Gateway.Served;

/// <summary>
/// The providers whose model server the host runs itself (<c>Serve</c> in their configuration): each started with the host,
/// supervised by its <see cref="ServedServer"/>, and stopped with it (its whole process group killed).
/// </summary>
internal sealed class ServedProviders : BackgroundService
{
    private readonly Dictionary<string, ServedServer> _servers;

    public ServedProviders(GatewayProviders providers, Hive.Shared.HivePaths paths, TimeProvider clock, ILogger<ServedProviders> logger) =>
        _servers = providers.All.Where(p => p.Serve is not null)
            .ToDictionary(p => p.Name, p => new ServedServer(p.Name, p.Serve!, Path.Combine(paths.RunDir, $"served-{p.Name}.pid"), clock, logger),
                StringComparer.Ordinal);

    public ServedView? ViewOf(string provider) => _servers.GetValueOrDefault(provider)?.View();

    public IReadOnlyList<ServedView> Views() => _servers.Values.OrderBy(s => s.Provider, StringComparer.Ordinal).Select(s => s.View()).ToList();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_servers.Values.Select(s => Task.Run(() => s.RunAsync(stoppingToken), CancellationToken.None)));

    /// <summary>The first problem with a provider's <c>Serve</c>, as <c>Key: reason</c>; null when it is sound.</summary>
    public static string? ProblemWith(ServeOptions serve, ProviderOptions provider)
    {
        if (serve.Command.Count is 0 or > 64 || serve.Command.Any(a => a is not { Length: > 0 and <= 4096 } || a.Contains('\0')))
            return "Command: the program and its arguments, 1 to 64 items of 1 to 4096 characters";
        if (!Uri.TryCreate(serve.Health, UriKind.Absolute, out var health) || health.Scheme is not ("http" or "https"))
            return $"Health: must be an absolute http or https URL the server answers 2xx on when it is up (it is '{serve.Health}')";
        if (serve.Slots is { } slots && slots is < 1 or > 10_000) return "Slots: must be 1 to 10000";
        if (serve.Slots is { } s && provider.MaxInFlight is { } m && s != m)
            return $"Slots: the server's slots are the provider's MaxInFlight; give one of them (Slots {s}, MaxInFlight {m})";
        if (serve.Context is { } context && context is < 1 or > 100_000_000) return "Context: must be 1 to 100000000 tokens";
        if (serve.MaxBackoffSeconds is < 1 or > 3600) return "MaxBackoffSeconds: must be 1 to 3600";
        if (serve.MaxFailedStarts is < 1 or > 100) return "MaxFailedStarts: must be 1 to 100";
        foreach (var name in serve.Env.Keys)
            if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                return $"Env:{name}: variable names are [A-Za-z_][A-Za-z0-9_]*";
        return null;
    }
}
