using System.Text;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>
/// The file capability the harness offers an ACP agent (<c>fs/read_text_file</c>, <c>fs/write_text_file</c>), confined to
/// its work dir and its home: the path must be absolute and, with every link resolved, stay under one of them (a write's
/// directory must exist there). Inside a sandbox those are all it has; outside one (the process driver) the confinement is
/// this class's alone. Anything else is refused, and the caller ends the turn on it.
/// </summary>
internal static class AcpFiles
{
    /// <summary>The largest file read or written through the capability.</summary>
    public const int MaxBytes = 4 << 20;

    internal sealed class OutsideException(string message) : Exception(message);

    public static async Task<JsonNode?> AnswerAsync(string method, JsonObject? parameters, string workDir)
    {
        var path = parameters is null ? null : AcpUpdates.Str(parameters, "path");
        if (path is null) throw new JsonRpcError(JsonRpcError.InvalidParams, "path is required");
        var write = method == "fs/write_text_file";
        var resolved = Confined(path, workDir, write);
        try
        {
            if (write)
            {
                var content = AcpUpdates.Str(parameters!, "content") ?? throw new JsonRpcError(JsonRpcError.InvalidParams, "content is required");
                if (Encoding.UTF8.GetByteCount(content) > MaxBytes) throw new JsonRpcError(JsonRpcError.InvalidParams, $"content over {MaxBytes} bytes");
                await File.WriteAllTextAsync(resolved, content);
                return null;
            }
            if (new FileInfo(resolved).Length > MaxBytes) throw new JsonRpcError(JsonRpcError.InvalidParams, $"{path} is over {MaxBytes} bytes");
            var text = await File.ReadAllTextAsync(resolved);
            var line = parameters!["line"] is JsonValue l && l.TryGetValue<int>(out var from) && from > 0 ? from : 1;
            var limit = parameters["limit"] is JsonValue m && m.TryGetValue<int>(out var count) && count > 0 ? count : int.MaxValue;
            if (line > 1 || limit < int.MaxValue) text = string.Join('\n', text.Split('\n').Skip(line - 1).Take(limit));
            return new JsonObject { ["content"] = text };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JsonRpcError(JsonRpcError.InternalError, $"{path}: {e.Message}");
        }
    }

    /// <summary>The real path of <paramref name="path"/> when it is under the work dir or home; else <see cref="OutsideException"/>.</summary>
    private static string Confined(string path, string workDir, bool write)
    {
        if (!Path.IsPathFullyQualified(path) || path.Contains('\0')) throw new JsonRpcError(JsonRpcError.InvalidParams, "path must be absolute");
        var roots = new[] { workDir, Environment.GetEnvironmentVariable("HOME") }.Where(r => !string.IsNullOrEmpty(r)).Select(r => Real(r!) ?? r!).ToList();
        // A write may make a file: its directory is what must be inside (and exist); the file itself, if there, too.
        var real = File.Exists(path) || !write ? Real(path) : Real(Path.GetDirectoryName(path)!) is { } dir ? Path.Combine(dir, Path.GetFileName(path)) : null;
        if (real is not null && roots.Any(root => real == root || real.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))) return real;
        throw new OutsideException($"the agent asked to {(write ? "write" : "read")} {StreamJson.Cut(path, 200)}, outside its work dir and home: refused");
    }

    /// <summary>The path with every link resolved, or null when it (or a link in it) does not exist.</summary>
    private static string? Real(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            var parts = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var current = "/";
            foreach (var part in parts)
            {
                var next = Path.Combine(current, part);
                var info = new FileInfo(next);
                if (!info.Exists && !Directory.Exists(next)) return null;
                current = info.LinkTarget is not null ? Real(info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next) ?? next : next;
            }
            return current;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
