namespace Hive.Features.Containers.Runtime;

/// <summary>The programs an agent's command names, as the process and bubblewrap drivers find them and show them to the agent.</summary>
internal static class AgentPrograms
{
    /// <summary>The PATH agents get: the host's, so that what the operator can run from its shell resolves the same.</summary>
    public static string AgentPath => Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : "/usr/local/bin:/usr/bin:/bin";

    /// <summary>
    /// The program a command names, found as the agent will find it: on its configured PATH, then among the hive's tools
    /// (<c>hivectl</c>), then on the host's PATH. The host's path of it (a tool is shown to the agent elsewhere: <see cref="Inside"/>).
    /// </summary>
    public static (string? Path, string? Problem) Resolve(AgentTools tools, string program, string configuredPath = "")
    {
        var toolsReady = tools.Ensure();
        var (path, problem) = Executables.Resolve(program, configuredPath + Path.Combine(tools.HostDir, "bin") + ":" + AgentPath);
        // Not "not found on PATH": the operator's PATH is not what is wrong, this host's build is.
        if (path is null && !toolsReady && program == HivectlName && AgentTools.Missing is { } missing) return (null, missing);
        return (path, problem);
    }

    public const string HivectlName = "hivectl";

    /// <summary>Whether the host's path is one of the hive's tools, which every agent is given, whatever its mounts.</summary>
    public static bool IsTool(AgentTools tools, string hostPath) => hostPath.StartsWith(tools.HostDir + "/", StringComparison.Ordinal);

    /// <summary>Where the agent sees a program the host found: a tool where the driver shows the tools, anything else where it lies.</summary>
    public static string Inside(AgentTools tools, bool sandboxed, string hostPath) =>
        sandboxed && IsTool(tools, hostPath) ? AgentTools.InsideDir + hostPath[tools.HostDir.Length..] : hostPath;

    /// <summary>
    /// The script a command gives its program (<c>/bin/sh /srv/agent.sh</c>, <c>python3 -u /srv/agent.py</c>): its first
    /// argument that is not an option, when that is an absolute path to an existing file; else null.
    /// </summary>
    public static string? ScriptOf(IReadOnlyList<string> command) =>
        command.Skip(1).FirstOrDefault(a => !a.StartsWith('-')) is { } first && Path.IsPathRooted(first) && File.Exists(first) ? first : null;
}
