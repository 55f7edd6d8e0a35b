namespace Hive.Tests.Host.Storage;

/// <summary>Runs the built host to its refusal and checks the shape every refusal has: one line, named path, exit 1, no trace.</summary>
internal static class StartupRefusal
{
    public static async Task<string> ExpectAsync(string dataDir, string[] agents, params string[] mustContain)
    {
        var (exitCode, output) = await HostProcess.RunToExitAsync(TimeSpan.FromSeconds(60), HiveInstance.ArgsFor(dataDir, agents));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(exitCode != 0, $"the host started (exit {exitCode}):\n{output}");
        Assert.True(lines.Length == 1, $"expected one line, got {lines.Length}:\n{output}");
        Assert.StartsWith("hive: ", lines[0]);
        Assert.DoesNotContain("Exception", output); // no stack trace, no exception type names
        foreach (var part in mustContain) Assert.Contains(part, lines[0]);
        return lines[0];
    }

    /// <summary>Runs a command (mount, umount) and returns its exit code and error output.</summary>
    public static (int ExitCode, string Error) Run(string file, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Trim());
    }
}

/// <summary>
/// A small tmpfs of the test's own (we run as root here and in CI), for disk-full and read-only faults. A machine that
/// cannot mount fails the test with one line saying so: these faults are never skipped silently.
/// </summary>
internal sealed class TmpfsMount : IAsyncDisposable
{
    private TmpfsMount(string path) => Path = path;

    public string Path { get; }

    public static TmpfsMount Create(string size)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hive-tmpfs-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        var (code, error) = StartupRefusal.Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Assert.Fail($"cannot mount a tmpfs at {path} (these tests need root, or CAP_SYS_ADMIN): mount exited {code}: {error}");
        }
        return new TmpfsMount(path);
    }

    public void RemountReadOnly()
    {
        var (code, error) = StartupRefusal.Run("mount", "-o", "remount,ro", Path);
        if (code != 0) Assert.Fail($"cannot remount {Path} read-only: {error}");
    }

    public ValueTask DisposeAsync()
    {
        if (StartupRefusal.Run("umount", Path).ExitCode != 0) StartupRefusal.Run("umount", "-l", Path);
        try { Directory.Delete(Path); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
