using System.Runtime.InteropServices;
using Hive.Shared;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// The host's own <c>hivectl</c>, given to every agent it runs: copied from beside the host (<c>agent-tools/hivectl/</c>,
/// where the build puts it) into <c>&lt;DataDir&gt;/tools</c> once per host life, with a <c>bin/hivectl</c> launcher. The
/// process driver puts <c>&lt;DataDir&gt;/tools/bin</c> on the agent's PATH (a root host's staging binds <c>tools</c> back
/// into the agent's view); bubblewrap binds <c>tools</c> read-only at <see cref="InsideDir"/>. A copy, not the install dir:
/// the install dir may be one an agent's own user cannot read, and agents must never be shown it.
/// </summary>
internal sealed class AgentTools
{
    /// <summary>Where a sandboxed agent finds the tools (its PATH has <c>/opt/hive/bin</c>).</summary>
    public const string InsideDir = "/opt/hive";

    // The machine's dotnet runs it; a dotnet outside the system dirs is linked from tools/dotnet (and bound into sandboxes).
    private const string Launcher = """
        #!/bin/sh
        # hivectl as the hive gives it to its agents: the host's own build, run by the machine's dotnet.
        here=$(cd "$(dirname "$0")/.." && pwd)
        if [ -x "$here/dotnet/dotnet" ]; then exec "$here/dotnet/dotnet" "$here/lib/hivectl.dll" "$@"; fi
        exec dotnet "$here/lib/hivectl.dll" "$@"
        """;

    private readonly HivePaths _paths;
    private readonly ILogger<AgentTools> _logger;
    private readonly Lazy<bool> _ready;

    public AgentTools(HivePaths paths, ILogger<AgentTools> logger)
    {
        _paths = paths;
        _logger = logger;
        _ready = new Lazy<bool>(Install);
    }

    /// <summary>The tools' directory in host form (always there once <see cref="Ensure"/> ran, empty when hivectl was not found).</summary>
    public string HostDir => Path.Combine(_paths.DataDir, "tools");

    /// <summary>The bin directory an agent's PATH gets, as the agent sees it under a driver whose view is the host's or a sandbox's.</summary>
    public string BinFor(bool sandboxed) => sandboxed ? $"{InsideDir}/bin" : Path.Combine(HostDir, "bin");

    /// <summary>The dotnet install that runs hivectl, when it lies outside the system dirs (a sandbox must be shown it); else null.</summary>
    public static string? DotnetRootOutsideUsr()
    {
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..")).TrimEnd('/');
        return root.StartsWith("/usr/", StringComparison.Ordinal) ? null : root;
    }

    /// <summary>Where the build puts the hivectl the host gives its agents (beside the host).</summary>
    private static string Source => Path.Combine(AppContext.BaseDirectory, "agent-tools", "hivectl");

    /// <summary>
    /// Null when there is a hivectl beside the host to give agents; else one line saying what is missing and how to get it
    /// (a <c>dotnet build -o DIR</c> of the host alone leaves it out: hivectl's own output lands in DIR, not where the host copies from).
    /// </summary>
    public static string? Missing => File.Exists(Path.Combine(Source, "hivectl.dll"))
        ? null
        : $"no hivectl beside the host ({Path.Combine(Source, "hivectl.dll")} is missing): agents get no hivectl, and an agent whose command runs it " +
          "(the claude-code preset does) cannot be created; publish the host (dotnet publish src/Host -c Release -o DIR) or build the solution " +
          "(dotnet build Hive.sln), either of which puts it there";

    /// <summary>Said once, at start-up (<see cref="AgentsStartUp"/>), not first when an agent is created.</summary>
    public void WarnIfMissing()
    {
        if (Missing is { } missing) _logger.LogWarning("containers: {Missing}", missing);
    }

    /// <summary>Installs the tools once per host life; false when there is no hivectl beside the host (<see cref="Missing"/>).</summary>
    public bool Ensure() => _ready.Value;

    private bool Install()
    {
        var tools = HostDir;
        var source = Source;
        const UnixFileMode dirMode = (UnixFileMode)0b111_101_101, fileMode = (UnixFileMode)0b110_100_100, runMode = (UnixFileMode)0b111_101_101;
        // Made anew each host life (no agent runs while it is: they die with the host that started them).
        if (Directory.Exists(tools)) Directory.Delete(tools, recursive: true);
        Directory.CreateDirectory(tools);
        File.SetUnixFileMode(tools, dirMode);
        if (Missing is not null) return false; // said at start-up
        var lib = Path.Combine(tools, "lib");
        foreach (var dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories).Prepend(source))
            File.SetUnixFileMode(Directory.CreateDirectory(Path.Combine(lib, Path.GetRelativePath(source, dir))).FullName, dirMode);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(lib, Path.GetRelativePath(source, file));
            File.Copy(file, to);
            File.SetUnixFileMode(to, fileMode);
        }
        var bin = Directory.CreateDirectory(Path.Combine(tools, "bin")).FullName;
        File.SetUnixFileMode(bin, dirMode);
        File.WriteAllText(Path.Combine(bin, "hivectl"), Launcher + "\n");
        File.SetUnixFileMode(Path.Combine(bin, "hivectl"), runMode);
        if (DotnetRootOutsideUsr() is { } dotnet) File.CreateSymbolicLink(Path.Combine(tools, "dotnet"), dotnet);
        return true;
    }
}
