using System.Text;
using System.Text.Json;
using Hive.Shared.Files;
using Hive.Shared.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// An agent in a NixOS container, driven by shelling out to <c>nixos-container</c> (as hyperhive did): the container is
/// <c>h-&lt;name&gt;</c> (nixos-container allows 11 characters, so agent names of at most 9), made by
/// <c>create h-&lt;name&gt; --config-file &lt;agent dir&gt;/nixos-container.nix</c>, then <c>start</c>ed. Containers are
/// systemd units: they outlive the host, so at start-up a container found <c>up</c> is adopted, not started twice.
/// Nothing tells the host when a container ends, so its exit is noticed by polling <c>status</c> (the one driver that
/// polls). Every command is an argv (never a shell), has a timeout, and a failure carries its stderr to the operator.
/// Only ever run against the fake in the tests, never a real NixOS.
/// </summary>
public sealed class NixosContainerDriver : IContainerDriver
{
    /// <summary>The container name's prefix; nixos-container refuses names longer than <see cref="MaxContainerName"/>.</summary>
    public const string Prefix = "h-";
    public const int MaxContainerName = 11;
    public const int MaxAgentName = MaxContainerName - 2;
    public const string ConfigFileName = "nixos-container.nix";

    private readonly IOptions<ContainersOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;

    internal NixosContainerDriver(IOptions<ContainersOptions> options, TimeProvider clock, ILogger<NixosContainerDriver> logger)
    {
        _options = options;
        _clock = clock;
        _logger = logger;
    }

    public string Name => "nixos-container";

    /// <summary>Containers outlive the host (as in hyperhive): a host stop leaves them running and the next host adopts them.</summary>
    public bool OutlivesHost => true;

    internal NixosContainerOptions Options => _options.Value.NixosContainer;

    /// <summary>Resolved at each ask (a stat or a PATH walk): installing nixos-container later needs no restart.</summary>
    public string? Unavailable => Program().Problem is { } problem ? $"the nixos-container driver needs the nixos-container program: {problem}" : null;

    private (string? Path, string? Problem) Program() =>
        Executables.Resolve(Options.Path, Environment.GetEnvironmentVariable("PATH") ?? "/run/current-system/sw/bin:/usr/bin:/bin");

    public static string ContainerOf(string agent) => Prefix + agent;

    /// <summary>The command runs inside the container, so the host cannot check its program: only its shape.</summary>
    public string? ProblemWith(IReadOnlyList<string> command, IReadOnlyList<string> mounts) =>
        command.Count == 0 ? "the command is empty"
        : command[0].Length == 0 ? "the command's program is empty"
        : command[0].Contains('/') && !command[0].StartsWith('/') ? $"'{command[0]}' must be an absolute path (in the container) or a name on its PATH"
        : null;

    public string? ProblemWith(string name, IReadOnlyList<string> command, IReadOnlyList<string> mounts) =>
        name.Length > MaxAgentName
            ? $"the nixos-container driver names containers {Prefix}<name> and nixos-container allows {MaxContainerName} characters: " +
              $"an agent name of at most {MaxAgentName} characters ('{name}' has {name.Length})"
            : ProblemWith(command, mounts);

    public async Task<RunningAgent> StartAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        if (Unavailable is { } why) throw new DriverException(why);
        if (spec.Name.Length > MaxAgentName) throw new DriverException(ProblemWith(spec.Name, spec.Command, spec.Mounts)!);
        // Never run open what was asked sealed.
        if (spec.Sealed) throw new DriverException($"{spec.Name} is sealed, but the nixos-container driver cannot seal an agent's network yet");
        var container = ContainerOf(spec.Name);
        var configFile = WriteConfig(spec);
        await NoteAsync(spec.LogDir, $"starting under {Name} as {container}: {string.Join(' ', spec.Command)}");
        var created = false;
        if (await StatusAsync(container, cancellationToken) is null)
        {
            await RunAsync(["create", container, "--config-file", configFile], cancellationToken);
            created = true;
        }
        try
        {
            await RunAsync(["start", container], cancellationToken);
        }
        catch (DriverException e)
        {
            await NoteAsync(spec.LogDir, $"could not start: {e.Message}");
            // A start that fails leaves nothing behind: the container this start made goes again (best effort).
            if (created)
            {
                try { await RunAsync(["destroy", container], CancellationToken.None); }
                catch (DriverException again) { _logger.LogWarning("containers: removing {Container} after its failed start failed: {Reason}", container, again.Message); }
            }
            throw;
        }
        return new NixosContainerAgent(this, container, spec.LogDir, _clock);
    }

    public async Task<RunningAgent?> AdoptAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        if (Unavailable is not null || spec.Name.Length > MaxAgentName) return null;
        var container = ContainerOf(spec.Name);
        if (await StatusAsync(container, cancellationToken) != "up") return null;
        await NoteAsync(spec.LogDir, $"{container} was up when the host started: adopted");
        return new NixosContainerAgent(this, container, spec.LogDir, _clock);
    }

    public async Task DestroyAsync(LaunchSpec spec, CancellationToken cancellationToken)
    {
        var container = ContainerOf(spec.Name);
        if (Unavailable is null && await StatusAsync(container, cancellationToken) is not null)
            await RunAsync(["destroy", container], cancellationToken);
        // The config file is the driver's; the state dir stays as the tombstone.
        File.Delete(Path.Combine(AgentDir(spec), ConfigFileName));
    }

    /// <summary>
    /// A line in the agent's log (its output stays in the container's journal: the log only says what the driver did).
    /// Opened per line: the poll's agent holds no file between its rare notes.
    /// </summary>
    internal async Task NoteAsync(string logDir, string line)
    {
        // An agent whose directory is gone (destroyed, or its hive's data removed) has no log to note in: a poll still in
        // flight must not make one again.
        if (Path.GetDirectoryName(logDir) is { } agentDir && !Directory.Exists(agentDir)) return;
        try
        {
            await using var log = new AgentLog(logDir, _options.Value.LogBytes);
            await log.NoteAsync(line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A log that cannot be written must not stop the driver (least of all the poll).
            _logger.LogWarning("containers: the log in {Dir} could not be written: {Reason}", logDir, e.Message);
        }
    }

    /// <summary><c>up</c> or <c>down</c>; null when the container does not exist (status fails, or says anything else: <c>gone</c>).</summary>
    internal async Task<string?> StatusAsync(string container, CancellationToken cancellationToken)
    {
        var (code, stdout, _) = await ExecAsync(["status", container], cancellationToken);
        var status = stdout.Trim();
        return code == 0 && status is "up" or "down" ? status : null;
    }

    /// <summary>Runs a command that must succeed; a non-zero exit is a <see cref="DriverException"/> carrying its stderr.</summary>
    internal async Task<string> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await ExecAsync(args, cancellationToken);
        if (code != 0)
            throw new DriverException($"nixos-container {args[0]} {args[1]} failed (exit code {code}){(stderr.Length > 0 ? $": {stderr}" : "")}");
        return stdout;
    }

    /// <summary>
    /// One nixos-container command through the host's one runner (<see cref="ChildProcess"/>): an argv (no shell ever sees
    /// it), killed at the timeout, a clean environment. <c>NIX_PATH</c> is passed on when the host has one: <c>create</c>
    /// builds the container's system with <c>&lt;nixpkgs/nixos&gt;</c>, which only it locates (a search path, not a secret).
    /// </summary>
    private async Task<(int Code, string Stdout, string Stderr)> ExecAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var program = Program().Path ?? throw new DriverException(Unavailable ?? "nixos-container was not found");
        var environment = new Dictionary<string, string>();
        if (Environment.GetEnvironmentVariable("NIX_PATH") is { Length: > 0 } nixPath) environment["NIX_PATH"] = nixPath;
        ChildResult result;
        try
        {
            result = await ChildProcess.RunAsync(new ChildCommand(program, args)
            {
                Environment = environment, Timeout = TimeSpan.FromSeconds(Options.TimeoutSeconds),
            }, cancellationToken);
        }
        catch (ChildProcessException e)
        {
            throw new DriverException(e.Message, e);
        }
        if (result.TimedOut)
            throw new DriverException($"nixos-container {args[0]} {args[1]} did not finish within {Options.TimeoutSeconds:0.###} s");
        return (result.ExitCode, result.Stdout, Bounded(result.Stderr));
    }

    /// <summary>Stderr for a message: trimmed, one line, printable, at most 500 characters.</summary>
    private static string Bounded(string text)
    {
        var clean = new StringBuilder();
        foreach (var c in text.Trim()) clean.Append(char.IsControl(c) ? ' ' : c);
        return clean.Length > 500 ? clean.ToString(0, 500) + "…" : clean.ToString();
    }

    private static string AgentDir(LaunchSpec spec) => Path.GetDirectoryName(spec.StateDir)!;

    /// <summary>
    /// The container's NixOS configuration: a module whose service runs the agent's command with its environment, cwd its
    /// state dir. The facts (command, env, binds) are one JSON document read with <c>builtins.fromJSON</c>, so no value is
    /// ever spliced into Nix syntax. The binds (state dir, /shared, the socket, mounts read-only) are listed for the host
    /// side: imperative nixos-container has no create flag for them (a real deployment would set them through the
    /// container's <c>EXTRA_NSPAWN_FLAGS</c>; not done, not tried). Written before each start (0600: env may be private).
    /// </summary>
    private static string WriteConfig(LaunchSpec spec)
    {
        var stateDir = BubblewrapDriver.InsideStateDir(spec.Name);
        var socket = $"/run/hive/{spec.Name}.sock";
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in spec.Env) env[key] = value;
        env["HIVE_AGENT"] = spec.Name;
        env["HIVE_SOCKET"] = socket;
        env["HIVE_STATE_DIR"] = stateDir;
        env["HIVE_SHARED_DIR"] = "/shared";
        env["HOME"] = HomeRules.Of(spec.Env) is { } home ? $"{stateDir}/{home}" : stateDir;
        var binds = new List<object>
        {
            new { host = spec.StateDir, inside = stateDir, readOnly = false },
            new { host = spec.SharedDir, inside = "/shared", readOnly = false },
            new { host = spec.Socket, inside = socket, readOnly = false },
        };
        binds.AddRange(spec.Mounts.Select(m => new { host = m, inside = m, readOnly = true }));
        var json = JsonSerializer.Serialize(new { agent = spec.Name, container = ContainerOf(spec.Name), command = spec.Command, env, stateDir, binds },
            new JsonSerializerOptions { WriteIndented = true });
        // In a Nix indented string only '' and ${ are special: escaped as ''' and ''${.
        var quoted = json.Replace("''", "'''", StringComparison.Ordinal).Replace("${", "''${", StringComparison.Ordinal);
        var text = $$"""
            # Written by Hive for agent {{spec.Name}} (container {{ContainerOf(spec.Name)}}); rewritten at each start.
            { lib, ... }:
            let
              hive = builtins.fromJSON ''
            {{quoted}}
              '';
            in
            {
              boot.isContainer = true;
              systemd.services.hive-agent = {
                wantedBy = [ "multi-user.target" ];
                environment = hive.env;
                serviceConfig.WorkingDirectory = hive.stateDir;
                script = "exec " + lib.escapeShellArgs hive.command;
              };
            }

            """;
        var path = Path.Combine(AgentDir(spec), ConfigFileName);
        PrivateFile.WriteText(path, text, Durability.None);
        return path;
    }
}
