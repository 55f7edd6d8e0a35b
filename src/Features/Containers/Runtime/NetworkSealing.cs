using Hive.Shared.Egress;
using Hive.Shared.Processes;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// Which drivers can give an agent a network of its own (<see cref="NetworkModes.Sealed"/>), and the network an agent gets
/// when its configuration names none. Bubblewrap always can (<c>--unshare-net</c>); the process driver can on a root host
/// with a working <c>unshare --net</c> and <c>ip</c> (to bring its loopback up); nixos-container cannot yet; an external
/// agent runs outside the hive, so its network is not the hive's to seal.
/// </summary>
public static class NetworkSealing
{
    private static readonly Lazy<(string? Ip, string? Problem)> ProcessProbe = new(ProbeProcess);

    /// <summary>Where the process driver finds <c>ip</c>, in this order.</summary>
    private static readonly string[] IpPaths = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];

    /// <summary>Why the process driver cannot seal an agent's network on this host; null when it can. Probed once.</summary>
    public static string? ProcessCannotSeal() => ProcessProbe.Value.Problem;

    /// <summary>The <c>ip</c> the process driver's sealed stage brings the agent's loopback up with; null when it cannot seal.</summary>
    internal static string? ProcessIp => ProcessProbe.Value.Ip;

    /// <summary>
    /// Why an agent of <paramref name="driver"/> cannot have <paramref name="network"/>; null when it can (an unknown mode
    /// is the validator's to refuse, not this).
    /// </summary>
    public static string? ProblemWith(string driver, string? network)
    {
        if (network != NetworkModes.Sealed) return null;
        return driver switch
        {
            DriverCatalog.External => "an external agent runs outside the hive, so its network is not the hive's to seal; leave network out",
            "nixos-container" => "the nixos-container driver does not seal an agent's network: not yet; use bubblewrap, or network open",
            "process" => ProcessCannotSeal() is { } why ? $"{why}; use bubblewrap, or network open" : null,
            _ => null,
        };
    }

    /// <summary>
    /// The network an agent created (or configured) without one gets: sealed for every preset's agent and every bubblewrap
    /// agent; otherwise as given (null reads as open, as every agent ran before the setting existed). A nixos-container
    /// agent from a preset stays as given: that driver cannot seal yet.
    /// </summary>
    public static string? Default(string driver, string? network, bool fromPreset) =>
        network ?? (driver == "bubblewrap" || (fromPreset && driver is not ("nixos-container" or DriverCatalog.External)) ? NetworkModes.Sealed : null);

    /// <summary>Whether a root shell here can make a network namespace and bring its loopback up, as the sealed stage does.</summary>
    private static (string? Ip, string? Problem) ProbeProcess()
    {
        if (!Environment.IsPrivilegedProcess) return (null, "the process driver seals an agent's network only on a root host");
        if (IpPaths.FirstOrDefault(File.Exists) is not { } ip)
            return (null, $"the process driver seals an agent's network with ip(8) (Debian's iproute2), which is not at {string.Join(" or ", IpPaths)}");
        try
        {
            var probe = ChildProcess.Run(new ChildCommand("/usr/bin/unshare", ["--net", "--", ip, "link", "set", "lo", "up"]) { Timeout = TimeSpan.FromSeconds(10) });
            if (probe.TimedOut) return (null, "unshare --net did not answer within 10 s, so the process driver cannot seal an agent's network");
            return probe.ExitCode == 0 ? (ip, null)
                : (null, $"the process driver cannot seal an agent's network: unshare --net failed ({probe.Stderr.Trim()})");
        }
        catch (Exception e)
        {
            return (null, $"the process driver cannot seal an agent's network: unshare(1) could not be run ({e.Message})");
        }
    }
}
