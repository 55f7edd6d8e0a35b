using System.Diagnostics;

namespace Hive.Tests.Features.Containers;

/// <summary>git in a hive's meta repo, as an operator at a shell would look at it (and, for tests, edit it by hand).</summary>
internal static class MetaGit
{
    public static string In(string dataDir, params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = Path.Combine(dataDir, "meta"), RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["-c", "user.name=t", "-c", "user.email=t@t", .. args]) info.ArgumentList.Add(arg);
        using var git = Process.Start(info)!;
        var output = git.StandardOutput.ReadToEnd();
        var error = git.StandardError.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)}: {error}");
    }

    /// <summary>The refs under <c>refs/&lt;fate&gt;/</c>.</summary>
    public static IReadOnlyList<string> Refs(string dataDir, string fate) =>
        In(dataDir, "for-each-ref", "--format=%(refname)", $"refs/{fate}/").Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
