using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Hive.Features.StateFiles;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.StateFiles;

/// <summary>
/// Thousands of random paths built from separators, dots, encodings, NUL, look-alikes and the planted link names;
/// every answer must agree with an oracle written from the rules: the kernel's realpath plus the root prefixes.
/// </summary>
[Collection(StateFilesHive.Name)]
public sealed partial class AllowListPropertyTests(StateFilesHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;
    private readonly StateFileTree _tree = fixture.Tree;
    private readonly string _dataDirReal = RealPath(fixture.Hive.DataDir)!;

    private static readonly string[] Segments =
    [
        ".", "..", "", "...", "%2e%2e", "%2f", "\u2025", "\uff0e\uff0e", "\u2215", "\0", "\\", "..\\..",
        "plan.md", "x.md", "x.md.bak", "notes", "README", "Makefile", "subdir", "up", "secret.txt", "private.txt", "etc", "passwd",
        "esc-abs", "esc-rel", "esc-dir", "esc-parent", "esc-root", "loop-a", "self", "dangling", "dev-zero", "proc-environ",
        "ok-link", "ok-abs-link", "ok-dir-link", "token-link", "forge-token", "FORGE-TOKEN", "id_rsa", "server.key",
        "fifo", "sock", "\uff50lan.md", "state", "agents", "alice", "shared", "outside",
    ];

    private string[] Prefixes =>
    [
        "/agents/alice/state", "/agents/bob/state", "/agents/carol/state", "/shared", "/agents/alice", "/agents", "/state",
        "/agents/Alice/state", "/agents/alice/state-evil", "/sharedx", "", "/", "//agents/alice/state", "/./shared",
        _hive.DataDir + "/agents/alice/state", _hive.DataDir + "/shared", _hive.DataDir, _dataDirReal + "/agents/alice/state",
        _hive.DataDir + "/outside", "/etc", "/proc/self",
    ];

    // Names that lead somewhere readable, so that a good share of random paths are allowed and the oracle is
    // tested on both answers.
    private static readonly string[] GoodSegments = ["plan.md", "x.md", "x.md.bak", "notes", "README", "Makefile", "ok-link", "ok-abs-link", "ok-dir-link", "doc.md", "."];

    private string[] GoodPrefixes => ["/agents/alice/state", "/shared", _hive.DataDir + "/agents/alice/state", _hive.DataDir + "/shared", "/agents/alice/state/notes"];

    private IEnumerable<string> RandomPaths(int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var good = random.Next(2) == 0;
            var prefixes = good ? GoodPrefixes : Prefixes;
            var path = new StringBuilder(prefixes[random.Next(prefixes.Length)]);
            var depth = random.Next(good ? 1 : 0, good ? 3 : 5);
            for (var d = 0; d < depth; d++)
            {
                path.Append(random.Next(10) == 0 ? "//" : "/");
                var segments = good && random.Next(4) != 0 ? GoodSegments : Segments;
                path.Append(segments[random.Next(segments.Length)]);
            }
            yield return path.ToString();
        }
    }

    [Fact]
    public void Thousands_of_random_paths_agree_with_the_realpath_oracle()
    {
        var allowList = _hive.Services.GetRequiredService<IStateFileAllowList>();
        var disagreements = new List<string>();
        var allowed = 0;
        foreach (var path in RandomPaths(5000, seed: 20261121))
        {
            var expected = OracleAllows(path);
            var actual = allowList.Check(path) == StateFileVerdict.Allowed;
            if (allowList.Accepts(path) != actual) disagreements.Add($"Accepts and Check disagree: {Printable(path)}");
            if (actual) allowed++;
            if (expected != actual) disagreements.Add($"{(actual ? "allowed" : "refused")} but oracle {(expected ? "allows" : "refuses")}: {Printable(path)}");
        }
        Assert.Empty(disagreements);
        Assert.True(allowed > 100, $"only {allowed} paths were allowed: the generator should reach real files often");
    }

    [Fact]
    public async Task Random_paths_over_HTTP_get_200_exactly_when_the_oracle_allows_and_never_5xx()
    {
        var failures = new List<string>();
        foreach (var path in RandomPaths(600, seed: 7))
        {
            using var response = await _hive.Http.GetAsync("/api/state-file?path=" + Uri.EscapeDataString(path));
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            if (status >= 500) failures.Add($"{status} {Printable(path)}");
            if ((status == 200) != OracleAllows(path)) failures.Add($"{status} disagrees with the oracle: {Printable(path)}");
            if (status != 200 && StateFileTree.ForbiddenMarkers.Any(body.Contains)) failures.Add($"leak: {Printable(path)}");
            if (status == 200 && StateFileTree.ForbiddenMarkers.Any(body.Contains)) failures.Add($"served a forbidden file: {Printable(path)}");
        }
        Assert.Empty(failures);
    }

    /// <summary>The rules, written independently of the implementation, on top of the kernel's realpath(3).</summary>
    private bool OracleAllows(string path)
    {
        if (path.Length == 0 || path.Contains('\0') || Encoding.UTF8.GetByteCount(path) > 4096) return false;
        if (!path.StartsWith('/') || path.Contains('\\') || path.Any(char.IsControl)) return false;
        if (path.Split('/').Contains("..")) return false;

        var dataDir = _hive.DataDir;
        var relative = path.StartsWith(dataDir + "/") ? path[(dataDir.Length + 1)..]
            : path.StartsWith(_dataDirReal + "/") ? path[(_dataDirReal.Length + 1)..]
            : path[1..];
        var parts = relative.Split('/').Where(p => p is not ("" or ".")).ToArray();
        string root;
        if (parts.Length >= 2 && parts[0] == "shared") root = "shared";
        else if (parts.Length >= 4 && parts[0] == "agents" && AgentName().IsMatch(parts[1]) && parts[2] == "state") root = $"agents/{parts[1]}/state";
        else return false;

        var rootReal = RealPath(Path.Combine(dataDir, root));
        if (rootReal != _dataDirReal + "/" + root) return false;
        var real = RealPath(dataDir + "/" + string.Join('/', parts));
        if (real is null || !real.StartsWith(rootReal + "/")) return false;
        if (Directory.Exists(real) || real == Path.Combine(_tree.Alice, "fifo") || real == Path.Combine(_tree.Alice, "sock")) return false;
        return !Denied(Path.GetFileName(real)) && !Denied(parts[^1]);
    }

    private static bool Denied(string name) =>
        DeniedName().IsMatch(name);

    private static string Printable(string path) => path.Replace("\0", "\\0");

    [GeneratedRegex("^[a-z][a-z0-9-]{0,30}$")]
    private static partial Regex AgentName();

    [GeneratedRegex(@"^(forge-token|.*\.key|.*\.pem|\.credentials.*|id_rsa.*|id_ed25519.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex DeniedName();

    private static string? RealPath(string path)
    {
        var resolved = RealPathNative(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { Free(resolved); }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
