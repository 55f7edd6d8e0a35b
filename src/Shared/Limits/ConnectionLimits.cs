using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Limits;

/// <summary>
/// The caps in force on what clients can hold open: the configured <see cref="LimitsOptions"/>, each held under its
/// share of the file-descriptor budget (the soft <c>RLIMIT_NOFILE</c>, raised to the hard limit at start-up, minus
/// <see cref="LimitsOptions.ReservedFileDescriptors"/>): half for HTTP connections, half for agent connections, and at
/// most three quarters of the HTTP connections for event streams (the rest stay free for the API). So no number of
/// clients can fill the descriptor table, whatever the configuration says. Of the HTTP connections, at most a quarter
/// may be unauthenticated: the rest are the operator's reserve.
/// </summary>
public sealed record ConnectionLimits(
    int HttpConnections, int EventStreams, int AgentConnections, int RetryAfterSeconds, FileDescriptors.Limit Descriptors)
{
    private const int Floor = 8; // a hive with fewer than this is unusable anyway; below it the reserve is what suffers

    /// <summary>Connections no request has signed in on yet (<see cref="LimitsOptions.MaxUnauthenticatedConnections"/>).</summary>
    public int UnauthenticatedConnections { get; init; } = 1;

    public TimeSpan UnauthenticatedIdle { get; init; } = TimeSpan.FromSeconds(5);

    public int EventStreamsPerClient { get; init; } = 1;

    public int WrongSignInsPerMinute { get; init; } = 1;

    public static ConnectionLimits From(LimitsOptions options, FileDescriptors.Limit descriptors)
    {
        var budget = Math.Max(0, descriptors.Soft - Math.Max(0, options.ReservedFileDescriptors));
        var half = (int)Math.Min(int.MaxValue, Math.Max(Floor, budget / 2));
        var http = Math.Clamp(options.MaxHttpConnections, 1, half);
        var streams = Math.Clamp(options.MaxEventStreams, 1, Math.Max(1, http * 3 / 4));
        var agents = Math.Clamp(options.MaxAgentConnections, 1, half);
        return new ConnectionLimits(http, streams, agents, Math.Max(1, options.RetryAfterSeconds), descriptors)
        {
            UnauthenticatedConnections = Math.Clamp(options.MaxUnauthenticatedConnections, 1, Math.Max(1, http / 4)),
            UnauthenticatedIdle = TimeSpan.FromSeconds(options.UnauthenticatedIdleSeconds),
            EventStreamsPerClient = Math.Clamp(options.MaxEventStreamsPerClient, 1, streams),
            WrongSignInsPerMinute = options.WrongSignInsPerMinute,
        };
    }

    /// <summary>The knobs that have no safe value to clamp to; a one-line reason, or null.</summary>
    public static string? Problem(LimitsOptions options) =>
        options.MaxUnauthenticatedConnections < 1 ? $"Hive:Limits:MaxUnauthenticatedConnections must be at least 1, not {options.MaxUnauthenticatedConnections}"
        : !(options.UnauthenticatedIdleSeconds is > 0 and <= 3600) ? $"Hive:Limits:UnauthenticatedIdleSeconds must be more than 0 and at most 3600, not {options.UnauthenticatedIdleSeconds}"
        : options.MaxEventStreamsPerClient < 1 ? $"Hive:Limits:MaxEventStreamsPerClient must be at least 1, not {options.MaxEventStreamsPerClient}"
        : options.WrongSignInsPerMinute < 1 ? $"Hive:Limits:WrongSignInsPerMinute must be at least 1, not {options.WrongSignInsPerMinute}"
        : null;

    public override string ToString() =>
        $"file descriptors {Descriptors}; at most {HttpConnections} HTTP connections ({UnauthenticatedConnections} unauthenticated, " +
        $"idle {UnauthenticatedIdle.TotalSeconds:0.###} s), {EventStreams} event streams ({EventStreamsPerClient} per client), " +
        $"{AgentConnections} agent connections, {WrongSignInsPerMinute} wrong sign-ins a minute";
}

/// <summary>The process's descriptor limit (<c>RLIMIT_NOFILE</c>), read and raised through libc.</summary>
public static class FileDescriptors
{
    /// <param name="Raised">Whether this call moved the soft limit (null: it tried and failed, see <paramref name="Error"/>).</param>
    public sealed record Limit(long Soft, long Hard, long Before, bool? Raised, string? Error = null)
    {
        public override string ToString() => Raised switch
        {
            true => $"soft limit raised from {Before} to {Soft} (hard {Hard})",
            false => $"soft limit {Soft} (hard {Hard})",
            null => $"soft limit {Soft} (hard {Hard}); raising it failed: {Error}",
        };
    }

    private const int RlimitNofile = 7; // the same on every Linux architecture .NET runs on (asm-generic, x86, arm, ppc, s390)

    /// <summary>rlim_t is the kernel's unsigned long: pointer-sized on every Linux .NET runs on.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public nuint Current;
        public nuint Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static extern int SetRLimit(int resource, ref RLimit limit);

    /// <summary>Raises the soft limit to the hard one (the runtime usually has already; this makes sure and says so).</summary>
    public static Limit RaiseSoftToHard()
    {
        if (!OperatingSystem.IsLinux()) return new Limit(int.MaxValue, int.MaxValue, int.MaxValue, false);
        if (GetRLimit(RlimitNofile, out var limit) != 0)
            return new Limit(1024, 1024, 1024, null, $"getrlimit: errno {Marshal.GetLastPInvokeError()}");
        var before = Clamp(limit.Current);
        if (limit.Current >= limit.Maximum) return new Limit(before, Clamp(limit.Maximum), before, false);
        var raised = limit with { Current = limit.Maximum };
        if (SetRLimit(RlimitNofile, ref raised) != 0)
            return new Limit(before, Clamp(limit.Maximum), before, null, $"setrlimit: errno {Marshal.GetLastPInvokeError()}");
        return new Limit(Clamp(raised.Current), Clamp(raised.Maximum), before, true);
    }

    private static long Clamp(nuint value) => value > (nuint)int.MaxValue ? int.MaxValue : (long)value;
}

public static class ConnectionLimitsServices
{
    /// <summary>Raises the descriptor limit, computes the caps and registers them; Kestrel's part is the host's to set.</summary>
    /// <exception cref="Errors.HiveStartupException">A knob with no safe value to clamp to (zero, negative, not a number).</exception>
    public static ConnectionLimits AddHiveLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection($"{HiveOptions.Section}:Limits").Get<LimitsOptions>() ?? new LimitsOptions();
        if (ConnectionLimits.Problem(options) is { } problem) throw new Errors.HiveStartupException(problem);
        var limits = ConnectionLimits.From(options, FileDescriptors.RaiseSoftToHard());
        services.AddSingleton(limits);
        return limits;
    }
}
