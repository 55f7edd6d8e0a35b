using System.Diagnostics;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// One loop for every running agent (no thread per agent): each <c>Hive:Containers:UsageSeconds</c> it reads each agent's
/// cgroup counters (<see cref="AgentCgroup.ReadCounters"/>), keeps the result in memory on the agent's cgroup (rows read it
/// there; nothing is written to the database), and raises <see cref="AgentUsageChanged"/> for an agent whose usage moved
/// past a threshold since it was last raised.
/// </summary>
internal sealed class AgentUsageLoop(
    IServiceScopeFactory scopes, AgentCgroups cgroups, IOptions<ContainersOptions> options, TimeProvider timeProvider, ILogger<AgentUsageLoop> logger)
    : PeriodicBackgroundService(scopes, TimeSpan.FromSeconds(options.Value.UsageSeconds), timeProvider, logger)
{
    /// <summary>
    /// Memory and CPU are told again when they moved by more than this share of the agent's cap (5 % of a 4096 MiB cap is
    /// about 205 MiB; of a 200 % CPU cap, 10 points): small enough that a meter follows a real change, large enough that
    /// an idle agent's jitter raises nothing.
    /// </summary>
    public const double ChangeShareOfCap = 0.05;

    /// <summary>Processes are told again on any change of at least this many: a process more or less is a real change.</summary>
    public const long PidsChange = 1;

    private const double MiB = 1024 * 1024;

    private long _readingTicks;

    /// <summary>
    /// Wall time spent reading counters since start-up (the loop's own work; an upper bound on its CPU, since cgroup files
    /// are served from memory): what the bench divides by the time elapsed.
    /// </summary>
    public TimeSpan ReadingTime => TimeSpan.FromSeconds(Interlocked.Read(ref _readingTicks) / (double)Stopwatch.Frequency);

    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var clock = services.GetRequiredService<TimeProvider>();
        var started = Stopwatch.GetTimestamp();
        List<(AgentCgroup Cgroup, AgentUsage Usage)>? moved = null;
        foreach (var cgroup in cgroups.Running)
        {
            if (Sample(cgroup, clock) is not { } usage) continue;
            if (cgroup.Published is { } told && !Moved(told, usage, cgroup.Limits)) continue;
            cgroup.Published = usage;
            (moved ??= []).Add((cgroup, usage));
        }
        Interlocked.Add(ref _readingTicks, Stopwatch.GetTimestamp() - started);
        if (moved is null) return; // the usual tick of an idle hive: nothing to tell
        var publisher = services.GetRequiredService<IMediator>();
        foreach (var (cgroup, usage) in moved) await publisher.Publish(new AgentUsageChanged(cgroup.Agent, usage), stoppingToken);
    }

    /// <summary>Reads the counters; CPU % is over the time since the last look (0 at the first).</summary>
    private static AgentUsage? Sample(AgentCgroup cgroup, TimeProvider clock)
    {
        var (memory, cpu, pids) = cgroup.ReadCounters();
        if (memory is null && cpu is null && pids is null) return null; // gone between the list and the look
        var now = clock.GetTimestamp();
        var percent = 0.0;
        if (cgroup.Usage is { } last && cpu is { } used)
        {
            var window = clock.GetElapsedTime(last.Timestamp, now).TotalMicroseconds;
            if (window > 0) percent = Math.Max(0, used - last.CpuMicros) / window * 100;
        }
        var usage = new AgentUsage(Math.Round((memory ?? 0) / MiB, 1), Math.Round(percent, 1), pids ?? 0, clock.GetUtcNow());
        cgroup.Usage = new UsageSample(now, cpu ?? 0, usage);
        return usage;
    }

    private static bool Moved(AgentUsage told, AgentUsage now, ResourceLimits caps) =>
        Math.Abs(now.MemoryMib - told.MemoryMib) > caps.MemoryMib * ChangeShareOfCap
        || Math.Abs(now.CpuPercent - told.CpuPercent) > caps.CpuPercent * ChangeShareOfCap
        || Math.Abs(now.Pids - told.Pids) >= PidsChange;
}
