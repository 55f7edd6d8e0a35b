using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers.Drivers;

/// <summary>
/// An agent in a bubblewrap sandbox: a read-only system (the OS dirs and a few files of <c>/etc</c>, never the whole
/// root), its own state dir at <c>/agents/&lt;name&gt;/state</c> (and <c>/state</c> for the manager), <c>/shared</c>,
/// its own socket at <c>/run/hive/&lt;name&gt;.sock</c>, a private <c>/tmp</c>, <c>/proc</c> of its own pid namespace,
/// and any read-only <c>mounts</c> it was given. Never <c>hive.db</c>, the operator token, another agent's dir or the
/// host's processes. <c>--die-with-parent</c> and the pid namespace take the whole sandbox down with the host.
/// </summary>
public sealed class BubblewrapDriver : ProcessDriverBase
{
    private const string Bwrap = "/usr/bin/bwrap";
    private static readonly string[] SystemDirs = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
    private static readonly string[] EtcEntries =
    [
        "/etc/alternatives", "/etc/ca-certificates", "/etc/ssl", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf",
        "/etc/os-release", "/etc/mime.types", "/etc/dotnet",
    ];

    private readonly Lazy<string?> _unavailable;

    internal BubblewrapDriver(ProcessLauncher launcher, TimeProvider clock, IOptions<ContainersOptions> options) : base(launcher, clock, options)
    {
        _unavailable = new Lazy<string?>(Probe);
    }

    public override string Name => "bubblewrap";

    public override string? Unavailable => _unavailable.Value;

    public override string? ProblemWith(IReadOnlyList<string> command, IReadOnlyList<string> mounts)
    {
        if (base.ProblemWith(command, mounts) is { } problem) return problem;
        var program = Executables.Resolve(command[0], AgentPath).Path!;
        return Visible(program, mounts) ? null
            : $"the sandbox cannot see {program}: it sees the system dirs ({string.Join(", ", SystemDirs)}) and the agent's mounts; add its directory to mounts";
    }

    private static bool Visible(string path, IReadOnlyList<string> mounts) =>
        SystemDirs.Concat(mounts).Any(root => path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal));

    public static string InsideStateDir(string name) => $"/agents/{name}/state";

    private protected override (string StateDir, string SharedDir, string Socket) InsideView(LaunchSpec spec) =>
        (InsideStateDir(spec.Name), "/shared", $"/run/hive/{spec.Name}.sock");

    private protected override IReadOnlyList<string> Wrap(LaunchSpec spec, string program, string? cgroup)
    {
        var (stateDir, sharedDir, socket) = InsideView(spec);
        var args = new List<string>
        {
            "/usr/bin/setsid", Bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", spec.Name,
        };
        foreach (var dir in SystemDirs) AddSystemPath(args, dir);
        foreach (var entry in EtcEntries) AddSystemPath(args, entry);
        args.AddRange(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]);
        args.AddRange(["--bind", spec.StateDir, stateDir]);
        if (spec.IsManager) args.AddRange(["--bind", spec.StateDir, "/state"]);
        args.AddRange(["--bind", spec.SharedDir, sharedDir]);
        args.AddRange(["--bind", spec.Socket, socket]);
        foreach (var mount in spec.Mounts) args.AddRange(["--ro-bind", mount, mount]);
        args.AddRange(["--chdir", stateDir, "--", program, .. spec.Command.Skip(1)]);
        return args;
    }

    /// <summary>Binds a system path read-only; a symlink (merged /usr: /bin → usr/bin) is recreated as the same symlink.</summary>
    private static void AddSystemPath(List<string> args, string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target) args.AddRange(["--symlink", target, path]);
        else if (info.Exists || Directory.Exists(path)) args.AddRange(["--ro-bind", path, path]);
    }

    /// <summary>Whether bwrap can make a sandbox here (it needs user namespaces or root).</summary>
    private static string? Probe()
    {
        if (!File.Exists(Bwrap)) return "bubblewrap is not installed (Debian: apt-get install bubblewrap)";
        try
        {
            using var probe = Process.Start(new ProcessStartInfo(Bwrap)
            {
                ArgumentList = { "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--dev", "/dev", "--die-with-parent", "true" },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            })!;
            var error = probe.StandardError.ReadToEndAsync();
            if (!probe.WaitForExit(10_000))
            {
                probe.Kill();
                return "bwrap did not answer a test run within 10 s";
            }
            return probe.ExitCode == 0 ? null : $"bwrap cannot make a sandbox here: {error.Result.Trim()}";
        }
        catch (Exception e)
        {
            return $"bwrap cannot run: {e.Message}";
        }
    }
}
