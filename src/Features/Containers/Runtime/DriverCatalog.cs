using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Runtime;

/// <summary>The drivers by name, and what <c>auto</c> means on this machine.</summary>
public sealed class DriverCatalog(IEnumerable<IContainerDriver> drivers, IOptions<ContainersOptions> options, ILogger<DriverCatalog> logger)
{
    public const string External = "external";
    public const string Auto = "auto";
    private readonly Dictionary<string, IContainerDriver> _drivers = drivers.ToDictionary(d => d.Name, StringComparer.Ordinal);
    private string? _default;

    public IReadOnlyCollection<string> Names => _drivers.Keys;

    public IContainerDriver? Find(string name) => _drivers.GetValueOrDefault(name);

    /// <summary>The driver for an agent that names none: <c>Hive:Containers:Driver</c>, with <c>auto</c> resolved once.</summary>
    public string Default
    {
        get
        {
            if (_default is not null) return _default;
            var configured = options.Value.Driver;
            if (configured != Auto) return _default = configured;
            if (_drivers.TryGetValue("bubblewrap", out var bwrap) && bwrap.Unavailable is null)
            {
                logger.LogInformation("containers: the auto driver is bubblewrap: agents that name no driver run sandboxed");
                return _default = "bubblewrap";
            }
            logger.LogWarning("containers: the auto driver falls back to plain processes, which do not isolate agents ({Why})",
                bwrap?.Unavailable ?? "no bubblewrap driver");
            return _default = "process";
        }
    }
}
