using System.Runtime.InteropServices;

namespace Hive.Features.Containers.Runtime;

/// <summary>Where a command's program is, checked before anything is made, so a typo is an error and not a crash loop.</summary>
internal static partial class Executables
{
    /// <summary>The program's absolute path, or a sentence saying why it cannot be run.</summary>
    public static (string? Path, string? Problem) Resolve(string program, string searchPath)
    {
        if (program.Length == 0) return (null, "the command's program is empty");
        if (program.Contains('/'))
        {
            if (!System.IO.Path.IsPathRooted(program)) return (null, $"'{program}' must be an absolute path or a name found on PATH");
            return Check(program);
        }
        foreach (var dir in searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, program);
            if (File.Exists(candidate)) return Check(candidate);
        }
        return (null, $"'{program}' was not found on PATH ({searchPath})");
    }

    private static (string? Path, string? Problem) Check(string path)
    {
        if (Directory.Exists(path)) return (null, $"{path} is a directory, not a program");
        if (!File.Exists(path)) return (null, $"{path} does not exist");
        if (Access(path, XOk) != 0) return (null, $"{path} is not executable (permission denied)");
        return (path, null);
    }

    private const int XOk = 1;

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);
}
