using Hive.Bench.Infrastructure;
using Hive.Testing;
using Microsoft.Data.Sqlite;

namespace Hive.Bench.Modes;

/// <summary>The host's CPU and peak RSS over one life: from a start to its SIGKILL, or to the end of the run.</summary>
internal sealed class SwarmLife
{
    public double CpuSeconds;
    public long PeakRssKb;
}

/// <summary>
/// The state shared by the swarm's main loop, the scripted operator and the sampler: the host of the moment and a client
/// of it (null while it is down), its lives, its SIGKILLs and restarts, the SQLite peaks, and the operator's tally.
/// </summary>
internal sealed class SwarmRun(string dataDir, string logDir, string[] hostArgs)
{
    public string DataDir { get; } = dataDir;
    public string LogDir { get; } = logDir;
    public volatile HostProcess? Host;
    public volatile HttpClient? Http;
    public volatile bool Draining;
    public SwarmLife Current = new();
    public List<SwarmLife> Lives { get; } = [];
    public List<(DateTimeOffset From, DateTimeOffset To)> Down { get; } = [];

    /// <summary>Each time a host of the run was up and answering: its first start, and after each kill.</summary>
    public List<DateTimeOffset> Ups { get; } = [];

    /// <summary>Each SIGKILL of the host: just before it was sent, and once the host was gone.</summary>
    public List<(DateTimeOffset Sent, DateTimeOffset Gone)> Kills { get; } = [];
    public long PeakWal;
    public long PeakDb;
    public HashSet<string> OperatorSent { get; } = [];
    public int QuestionsAnswered;
    public int OperatorErrors;
    public string? LastOperatorError;

    /// <summary>Starts the host on the run's data dir and swaps in a client of it (the one before, if any, disposed).</summary>
    public async Task StartHostAsync()
    {
        var old = Http;
        Host = await HostProcess.StartAsync(DataDir, [], extraArgs: hostArgs);
        Ups.Add(DateTimeOffset.UtcNow);
        Http = Host.CreateClient();
        old?.Dispose();
    }

    /// <summary>Samples the host, SIGKILLs it and closes its life; the moment the kill was sent.</summary>
    public async Task<DateTimeOffset> KillHostAsync()
    {
        Sample();
        var sent = DateTimeOffset.UtcNow;
        await Host!.KillAsync();
        Kills.Add((sent, DateTimeOffset.UtcNow));
        Lives.Add(Current);
        Current = new SwarmLife();
        return sent;
    }

    /// <summary>Starts the host again after <see cref="KillHostAsync"/>; the span from <paramref name="killed"/> until it is up counts as down.</summary>
    public async Task RestartHostAsync(DateTimeOffset killed)
    {
        var dead = Host!;
        Host = null;
        await dead.DisposeAsync();
        await StartHostAsync();
        Down.Add((killed, DateTimeOffset.UtcNow));
    }

    /// <summary>Ends the host if it still runs (SIGTERM, else SIGKILL) and disposes of it and its client: the run's last step, whatever happened.</summary>
    public async Task StopHostAsync()
    {
        if (Host is { } host)
        {
            try { if (!host.HasExited) await host.TerminateAsync(TimeSpan.FromSeconds(60)); }
            catch (Exception e) { Console.WriteLine($"SIGTERM of the host failed ({e.Message}): SIGKILL"); }
            await host.DisposeAsync();
        }
        Http?.Dispose();
    }

    public void Failed(string why)
    {
        Interlocked.Increment(ref OperatorErrors);
        LastOperatorError = why;
    }

    /// <summary>The host's CPU and peak RSS into the current life, and the SQLite files' peaks.</summary>
    public void Sample()
    {
        try
        {
            if (Host is not { HasExited: false } host) return;
            Current.CpuSeconds = ProcStat.CpuMs(host.ProcessId) / 1000;
            Current.PeakRssKb = Math.Max(Current.PeakRssKb, ProcStat.Status(host.ProcessId, "VmHWM"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException) { }
        PeakWal = Math.Max(PeakWal, FileSize(Path.Combine(DataDir, "hive.db-wal")));
        PeakDb = Math.Max(PeakDb, FileSize(Path.Combine(DataDir, "hive.db")));
    }

    /// <summary>The sampler: <see cref="Sample"/> once a second until <paramref name="ct"/>.</summary>
    public async Task SampleEverySecondAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Sample();
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Messages sent to agents and not yet handed to a COMMAND.</summary>
    public long MailWaitingForAgents() =>
        HiveDatabase.Scalar(DataDir, "SELECT count(*) FROM messages WHERE delivered_at IS NULL AND recipient GLOB 'a[0-9]*'");

    /// <summary>No mail waiting for an agent, no reminder due, no open question, no turn running.</summary>
    public bool Idle()
    {
        try
        {
            return MailWaitingForAgents() == 0
                   && HiveDatabase.Scalar(DataDir, "SELECT count(*) FROM reminders") == 0
                   && HiveDatabase.Scalar(DataDir, "SELECT count(*) FROM questions WHERE answered_at IS NULL") == 0
                   && HiveDatabase.Scalar(DataDir, "SELECT count(*) FROM governed_turns WHERE ended_at IS NULL") == 0;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    public static long FileSize(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}
