using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hive.Testing;

/// <summary>
/// A real RabbitMQ (Debian's <c>rabbitmq-server</c>, which <c>./test.sh</c> installs) run as a child of the test process,
/// never the system service: its own node name, ports, Erlang cookie, data and log dirs under one temp dir, and its own
/// <c>epmd</c>, so test runs side by side never meet and everything it started can be stopped by pid.
/// <list type="bullet">
/// <item><c>epmd -port P -address 127.0.0.1</c> is started first, in the foreground, on a free port of its own
/// (<c>ERL_EPMD_PORT</c> for the node and for <c>rabbitmqctl</c>); the node is told <c>-start_epmd false</c>. A node left
/// to itself starts a shared daemon epmd on 4369 that outlives it.</item>
/// <item>The broker is <c>setsid /usr/lib/rabbitmq/bin/rabbitmq-server</c> (not the <c>/usr/sbin</c> wrapper, which
/// switches to the <c>rabbitmq</c> user), so the script's pid leads a session and a process group of its own. The script
/// forks: a <c>/bin/sh</c> that waits (and turns SIGTERM into a clean stop) and, in its group, <c>beam.smp</c> (the
/// subshell execs <c>erl</c>, which execs it). <c>beam.smp</c> starts <c>erl_child_setup</c>, which calls setsid (a
/// session of its own, as are its port programs such as <c>inet_gethost</c>): a kill therefore takes the group and every
/// descendant of it, read from <c>/proc</c>.</item>
/// <item>A watchdog (<c>setsid sh</c>, its stdin a pipe from the test process) blocks reading; when the test process
/// dies without disposing (killed, crashed) the pipe closes and it kills the broker's group and the epmd and removes the
/// dir. A normal dispose kills the watchdog first.</item>
/// </list>
/// Readiness: the AMQP port accepting a connection (polled; it opens just before the boot ends), then <c>rabbitmqctl
/// await_startup</c> until it answers (it fails at once while the node is not yet registered with epmd).
/// </summary>
public sealed class RabbitMqNode : IAsyncDisposable
{
    public const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    public const string CtlScript = "/usr/lib/rabbitmq/bin/rabbitmqctl";
    private const string Epmd = "/usr/bin/epmd";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan CtlTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly string _home;
    private readonly string _logDir;
    private readonly Dictionary<string, string> _environment;
    private readonly HashSet<int> _pids = [];
    private readonly StringBuilder _output = new();
    private Process? _epmd;
    private Process? _watchdog;
    private Process? _broker;
    private bool _disposed;

    private RabbitMqNode()
    {
        Directory = Path.Combine(Path.GetTempPath(), "hive-rabbitmq-" + Guid.NewGuid().ToString("N")[..12]);
        NodeName = $"hive-test-{Guid.NewGuid().ToString("N")[..10]}@localhost";
        AmqpPort = HostProcess.FreePort();
        DistPort = HostProcess.FreePort();
        EpmdPort = HostProcess.FreePort();
        _home = Path.Combine(Directory, "home");
        _logDir = Path.Combine(Directory, "log");
        var mnesia = Path.Combine(Directory, "mnesia");
        var config = Path.Combine(Directory, "rabbitmq.conf");
        var advanced = Path.Combine(Directory, "advanced.config");
        var envFile = Path.Combine(Directory, "rabbitmq-env.conf");
        var plugins = Path.Combine(Directory, "enabled_plugins");

        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var dir in new[] { _home, _logDir, mnesia }) System.IO.Directory.CreateDirectory(dir);
        // The cookie rabbitmqctl must present: Erlang refuses a cookie file others can read.
        var cookie = Path.Combine(_home, ".erlang.cookie");
        File.WriteAllText(cookie, string.Concat(Enumerable.Range(0, 20).Select(_ => (char)('A' + Random.Shared.Next(26)))));
        File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
        // Loopback only, no plugins (the management plugin alone adds seconds to a start), no file from /etc/rabbitmq.
        File.WriteAllText(config, $"""
            listeners.tcp.default = 127.0.0.1:{AmqpPort}
            log.console = false
            log.file.level = info
            """ + "\n");
        // The queue counts rabbitmqctl list_queues shows for a quorum queue are refreshed on its tick (5 s by default);
        // RabbitMQ's own quorum queue tests tick every second too.
        File.WriteAllText(advanced, "[{rabbit, [{quorum_tick_interval, 1000}]}].\n");
        File.WriteAllText(envFile, "");
        File.WriteAllText(plugins, "[].\n");

        _environment = new Dictionary<string, string>
        {
            ["HOME"] = _home,
            ["RABBITMQ_NODENAME"] = NodeName,
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = AmqpPort.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_DIST_PORT"] = DistPort.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_MNESIA_BASE"] = mnesia,
            ["RABBITMQ_LOG_BASE"] = _logDir,
            ["RABBITMQ_CONFIG_FILE"] = config,
            ["RABBITMQ_ADVANCED_CONFIG_FILE"] = advanced,
            ["RABBITMQ_CONF_ENV_FILE"] = envFile,
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = plugins,
            // Our epmd, never one of its own; distribution on loopback only; no busy-waiting schedulers (they spin on
            // idle cores, which a machine running many tests at once feels).
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] =
                "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none",
            ["ERL_EPMD_PORT"] = EpmdPort.ToString(CultureInfo.InvariantCulture),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
        };
    }

    /// <summary>Is Debian's rabbitmq-server installed (<c>./test.sh</c> installs it)?</summary>
    public static bool IsInstalled => File.Exists(ServerScript) && File.Exists(CtlScript) && File.Exists(Epmd);

    /// <summary>The temp dir that holds everything of this node (removed by <see cref="DisposeAsync"/>).</summary>
    public string Directory { get; }
    public string NodeName { get; }
    public int AmqpPort { get; }
    public int DistPort { get; }
    public int EpmdPort { get; }

    /// <summary>The running broker's process group (the pid of its <c>rabbitmq-server</c> script); null while it is down.</summary>
    public int? ProcessGroup => _broker is { HasExited: false } broker ? broker.Id : null;

    public int? EpmdPid => _epmd?.Id;

    /// <summary>Every pid of the node's processes seen in any of its lives, and its epmd's: for tests that prove none is left.</summary>
    public IReadOnlyCollection<int> Pids { get { lock (_pids) return _pids.ToList(); } }

    /// <summary>From launching the last life of the broker to <c>rabbitmqctl await_startup</c> answering.</summary>
    public TimeSpan LastStartDuration { get; private set; }

    /// <summary>The broker's stdout and stderr (the log proper is in <see cref="LogFile"/>).</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    public string LogFile => Path.Combine(_logDir, NodeName + ".log");

    /// <summary>Starts a fresh node (its epmd, the watchdog, the broker) and returns once it answers.</summary>
    public static async Task<RabbitMqNode> StartAsync()
    {
        if (!IsInstalled)
            throw new InvalidOperationException($"Debian's rabbitmq-server is not installed ({ServerScript}): install it (apt-get install rabbitmq-server); ./test.sh does");
        var node = new RabbitMqNode();
        try
        {
            await node.StartEpmdAsync();
            node.StartWatchdog();
            await node.LaunchAsync();
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
    }

    /// <summary>
    /// Starts the broker again on the same data dir, node name and ports (after <see cref="KillAsync"/>, say); a broker
    /// still running is stopped first with <c>rabbitmqctl stop</c>.
    /// </summary>
    public async Task RestartAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_broker is { HasExited: false }) await StopAsync();
        await LaunchAsync();
    }

    /// <summary>SIGKILL to the broker's process group and every descendant of it (no shutdown code runs), then waits until all are gone.</summary>
    public async Task KillAsync()
    {
        if (_broker is null) return;
        // The group and its descendants (erl_child_setup and its port programs each lead a session of their own). While
        // a member is left the group's id cannot be handed to another process, so the group kill hits only ours.
        var family = ProcessTable.Family(_broker.Id).ToList();
        Remember(family);
        if (family.Count > 0) ProcessTable.Kill(-_broker.Id);
        foreach (var pid in family) ProcessTable.Kill(pid);
        await ProcessTable.UntilGoneAsync(family, TimeSpan.FromSeconds(15));
        await _broker.WaitForExitAsync();
    }

    /// <summary>A clean stop (<c>rabbitmqctl stop</c>), then waits for the node's processes to end; kills what is left after 30 s.</summary>
    public async Task StopAsync()
    {
        if (_broker is null) return;
        var family = ProcessTable.Family(_broker.Id).ToList();
        Remember(family);
        if (!_broker.HasExited)
        {
            var (exitCode, _) = await TryCtlAsync("stop");
            if (exitCode == 0)
            {
                try
                {
                    await ProcessTable.UntilGoneAsync(family, StopTimeout);
                }
                catch (TimeoutException) { }
            }
        }
        await KillAsync();
    }

    /// <summary>Runs <c>rabbitmqctl -n NODE ARGS</c> with the node's environment; throws when it fails; returns its stdout.</summary>
    public async Task<string> RunCtlAsync(params string[] args)
    {
        var (exitCode, output) = await TryCtlAsync(args);
        return exitCode == 0 ? output : throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)} exited with {exitCode}:\n{output}");
    }

    /// <summary>Adds a user (tagged <paramref name="tags"/> when given) with these permissions on <paramref name="vhost"/>, creating the vhost if needed.</summary>
    public async Task AddUserAsync(string user, string password, string vhost = "/", string configure = ".*", string write = ".*", string read = ".*",
        params string[] tags)
    {
        if (vhost != "/") await AddVhostAsync(vhost);
        await RunCtlAsync("add_user", user, password);
        if (tags.Length > 0) await RunCtlAsync(["set_user_tags", user, .. tags]);
        await RunCtlAsync("set_permissions", "-p", vhost, user, configure, write, read);
    }

    public async Task AddVhostAsync(string vhost)
    {
        var (exitCode, output) = await TryCtlAsync("add_vhost", vhost);
        if (exitCode != 0 && !output.Contains("already exists", StringComparison.Ordinal))
            throw new InvalidOperationException($"rabbitmqctl add_vhost {vhost} exited with {exitCode}:\n{output}");
    }

    /// <summary>
    /// Stops the broker (<c>rabbitmqctl stop</c>, then SIGKILL to whatever is left of it), kills the watchdog and the epmd
    /// by their pids, waits until every one of them is gone, and removes the temp dir. Never throws for a node that is already down.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (_watchdog is { } watchdog)
            {
                // First, so it never kills a group id that is no longer ours.
                ProcessTable.Kill(-watchdog.Id);
                ProcessTable.Kill(watchdog.Id);
                await watchdog.WaitForExitAsync();
                watchdog.Dispose();
            }
            try
            {
                await StopAsync();
            }
            finally
            {
                if (_broker is { HasExited: false }) await KillAsync();
                _broker?.Dispose();
                if (_epmd is { } epmd)
                {
                    if (!epmd.HasExited) ProcessTable.Kill(epmd.Id);
                    await epmd.WaitForExitAsync();
                    epmd.Dispose();
                }
            }
        }
        finally
        {
            await TestDirectories.DeleteAsync(Directory);
        }
    }

    private async Task StartEpmdAsync()
    {
        var start = new ProcessStartInfo(Epmd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-port", EpmdPort.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1"]) start.ArgumentList.Add(arg);
        _epmd = Process.Start(start) ?? throw new InvalidOperationException("could not start epmd");
        Remember([_epmd.Id]);
        Capture(_epmd, "epmd");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await AcceptsAsync(EpmdPort))
        {
            if (_epmd.HasExited) throw new InvalidOperationException($"epmd exited with {_epmd.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"epmd did not listen on {EpmdPort}:\n{Output}");
            await Task.Delay(20);
        }
    }

    private void StartWatchdog()
    {
        // Blocks until its stdin (a pipe from this process) closes: at the test process's death, when no dispose ran.
        const string script = """
            cat >/dev/null
            [ -f "$1/pids" ] && kill -9 $(cat "$1/pids") 2>/dev/null
            rm -rf "$1"
            """;
        var start = new ProcessStartInfo("/usr/bin/setsid") { RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in (string[])["/bin/sh", "-c", script, "rabbitmq-watchdog", Directory]) start.ArgumentList.Add(arg);
        _watchdog = Process.Start(start) ?? throw new InvalidOperationException("could not start the watchdog");
    }

    private async Task LaunchAsync()
    {
        _broker?.Dispose();
        var start = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        start.ArgumentList.Add(ServerScript);
        foreach (var (key, value) in _environment) start.Environment[key] = value;
        var clock = Stopwatch.StartNew();
        var broker = Process.Start(start) ?? throw new InvalidOperationException("could not start rabbitmq-server");
        _broker = broker;
        Remember([broker.Id]);
        Capture(broker, "broker");
        // What the watchdog kills should this process die: the broker's group and the epmd.
        await File.WriteAllTextAsync(Path.Combine(Directory, "pids"), $"-{broker.Id} {_epmd!.Id}\n");
        // setsid execs the script when it is not a group leader already (a child of ours is not): pid = group = session,
        // once setsid has run (right after the fork it is still in our group).
        await HiveInstance.Until(() => broker.HasExited || ProcessTable.GroupMembers(broker.Id).Contains(broker.Id), TimeSpan.FromSeconds(10),
            $"rabbitmq-server (pid {broker.Id}) to lead a process group of its own");

        var deadline = DateTime.UtcNow + StartTimeout;
        // Each rabbitmqctl is an Erlang VM of its own (0.3-0.5 s of CPU): asked in a loop while the broker boots, they
        // slow the boot. The AMQP listener opens just before the boot ends, so wait for it first, then ask once.
        while (!broker.HasExited && DateTime.UtcNow < deadline && !await AcceptsAsync(AmqpPort)) await Task.Delay(25);
        var last = "";
        while (true)
        {
            if (broker.HasExited)
                throw new InvalidOperationException($"rabbitmq-server exited with {broker.ExitCode}:\n{Output}\n{LogTail()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"rabbitmq-server did not answer within {StartTimeout.TotalSeconds} s; last rabbitmqctl answer:\n{last}\n{Output}\n{LogTail()}");
            var (exitCode, output) = await TryCtlAsync("await_startup", "--timeout", "10");
            if (exitCode == 0) break;
            last = output;
            await Task.Delay(100);
        }
        LastStartDuration = clock.Elapsed;
        Remember(ProcessTable.Family(broker.Id));
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task<(int ExitCode, string Output)> TryCtlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var arg in (string[])[CtlScript, "-n", NodeName, .. args]) start.ArgumentList.Add(arg);
        foreach (var (key, value) in _environment) start.Environment[key] = value;
        using var ctl = Process.Start(start) ?? throw new InvalidOperationException("could not start rabbitmqctl");
        var stdout = ctl.StandardOutput.ReadToEndAsync();
        var stderr = ctl.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CtlTimeout);
        try
        {
            await ctl.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Its own session too: the CLI is an Erlang VM with children of its own.
            var family = ProcessTable.Family(ctl.Id).Append(ctl.Id).ToList();
            ProcessTable.Kill(-ctl.Id);
            foreach (var pid in family) ProcessTable.Kill(pid);
            await ctl.WaitForExitAsync();
            return (-1, $"rabbitmqctl {string.Join(' ', args)} did not end within {CtlTimeout.TotalSeconds} s (killed)");
        }
        return (ctl.ExitCode, (await stdout) + (await stderr));
    }

    private void Capture(Process process, string name)
    {
        void Append(string? line)
        {
            if (line is null) return;
            lock (_output)
                if (_output.Length < 64 * 1024) _output.Append(name).Append(": ").AppendLine(line);
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void Remember(IEnumerable<int> pids)
    {
        lock (_pids) _pids.UnionWith(pids);
    }

    private string LogTail()
    {
        try
        {
            var lines = File.ReadAllLines(LogFile);
            return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 40)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
