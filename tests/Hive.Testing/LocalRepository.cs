using System.Diagnostics;

namespace Hive.Testing;

/// <summary>
/// A real bare git repository under the shared <c>/tmp</c>, whose <c>main</c> has one commit holding the files it was made
/// with (as someone made it by hand): a plain repository for a workflow (a path, or a <c>file://</c> URL), and the store
/// behind <see cref="FakeForgejo"/>'s. Disposing removes it.
/// </summary>
public sealed class LocalRepository : IAsyncDisposable
{
    private readonly string _root;

    private LocalRepository(string root)
    {
        _root = root;
        Path = System.IO.Path.Combine(root, "project.git");
    }

    /// <summary>The bare repository's path.</summary>
    public string Path { get; }

    /// <summary>A new bare repository whose <c>main</c> holds <paramref name="files"/> (path → text).</summary>
    public static LocalRepository Create(IReadOnlyDictionary<string, string> files)
    {
        var repository = new LocalRepository(Directory.CreateTempSubdirectory("hive-test-repo-").FullName);
        Seed(repository.Path, files);
        return repository;
    }

    /// <summary>Makes <paramref name="bare"/> a bare repository whose <c>main</c> has one commit holding <paramref name="files"/>.</summary>
    public static void Seed(string bare, IReadOnlyDictionary<string, string> files)
    {
        Directory.CreateDirectory(bare);
        Git(bare, "init", "-q", "--bare", "-b", "main");
        var source = Directory.CreateTempSubdirectory("hive-test-repo-seed-").FullName;
        try
        {
            Git(source, "init", "-q", "-b", "main");
            CommitFiles(source, files, "first commit", "seed");
            Git(source, "push", "-q", bare, "main");
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
    }

    /// <summary><paramref name="branch"/>'s commits, newest first, each "sha subject"; empty when there is no such branch.</summary>
    public IReadOnlyList<string> Log(string branch = "main") => LogOf(Path, branch);

    /// <summary>The commits of <paramref name="branch"/> in the bare repository <paramref name="bare"/>, newest first, each "sha subject".</summary>
    public static IReadOnlyList<string> LogOf(string bare, string branch)
    {
        var info = new ProcessStartInfo("git", ["--git-dir", bare, "log", "--format=%H %s", branch, "--"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var git = Process.Start(info)!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
    }

    /// <summary>Whether <paramref name="ancestor"/> is <paramref name="rev"/> or one of its ancestors in the bare repository <paramref name="bare"/> (false for a name it lacks).</summary>
    public static bool IsAncestor(string bare, string ancestor, string rev)
    {
        var info = new ProcessStartInfo("git", ["--git-dir", bare, "merge-base", "--is-ancestor", ancestor, rev]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var git = Process.Start(info)!;
        git.StandardOutput.ReadToEnd();
        git.StandardError.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0;
    }

    /// <summary>
    /// Writes <paramref name="files"/> (path → text) in the work tree at <paramref name="directory"/> and commits everything
    /// there as <paramref name="author"/> (a worktree another user owns too); the commit's sha.
    /// </summary>
    public static string CommitFiles(string directory, IReadOnlyDictionary<string, string> files, string subject, string author)
    {
        foreach (var (path, text) in files)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.Combine(directory, path))!);
            File.WriteAllText(System.IO.Path.Combine(directory, path), text);
        }
        Git(directory, "-c", "safe.directory=*", "add", "-A");
        Git(directory, "-c", "safe.directory=*", "-c", $"user.name={author}", "-c", $"user.email={author}@hive.invalid", "commit", "-q", "-m", subject);
        return RevParse(directory, "HEAD");
    }

    /// <summary>The commit <paramref name="rev"/> names in the repository at <paramref name="directory"/> (a worktree another user owns too).</summary>
    public static string RevParse(string directory, string rev) => Git(directory, "-c", "safe.directory=*", "rev-parse", "--verify", rev).Trim();

    /// <summary>Runs git in <paramref name="directory"/>; its output, or a failure throws with git's error.</summary>
    public static string Git(string directory, params string[] args) => GitWithInput(directory, null, args);

    /// <summary><see cref="Git"/> with <paramref name="input"/> written to its standard input.</summary>
    public static string GitWithInput(string directory, string? input, params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var git = Process.Start(info)!;
        var error = git.StandardError.ReadToEndAsync();
        var output = git.StandardOutput.ReadToEndAsync();
        if (input is not null) git.StandardInput.Write(input);
        git.StandardInput.Close();
        git.WaitForExit();
        if (git.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)}: {error.Result}");
        return output.Result;
    }

    public async ValueTask DisposeAsync() => await TestDirectories.DeleteAsync(_root);
}
