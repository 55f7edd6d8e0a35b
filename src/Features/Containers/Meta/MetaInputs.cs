using System.Text.Json;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Shared.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// The meta repo's pinned inputs (<c>inputs.json</c> on <c>main</c>): the outside things agents are built from, each a
/// local git repository pinned to a commit or a path pinned to a content hash, and which agents' files use them.
/// </summary>
public sealed class MetaInputs(MetaRepo repo, IOptions<MetaOptions> options, ILogger<MetaInputs> logger)
{
    /// <summary>The pinned inputs (<c>inputs.json</c> on <c>main</c>).</summary>
    public async Task<IReadOnlyList<MetaInput>> ReadInputsAsync()
    {
        await repo.EnsureAsync();
        var text = await repo.Git.RunAsync("show", "main:inputs.json");
        try
        {
            return JsonSerializer.Deserialize<List<MetaInput>>(text, HiveJson.Options) ?? [];
        }
        catch (JsonException e)
        {
            throw new MetaFileException($"inputs.json in the meta repo is not valid: {e.Message}");
        }
    }

    /// <summary>Writes <c>inputs.json</c> and commits it when it changed; true when it did.</summary>
    public async Task<bool> CommitInputsAsync(IReadOnlyList<MetaInput> inputs, string message) => await repo.CommitAsync(async () =>
    {
        var path = Path.Combine(repo.Dir, "inputs.json");
        var text = JsonSerializer.Serialize(inputs, AgentFile.Indented) + "\n";
        if (File.Exists(path) && await File.ReadAllTextAsync(path) == text) return null;
        await File.WriteAllTextAsync(path, text);
        return ["inputs.json"];
    }, message) is not null;

    /// <summary>Every agent file on <c>main</c> that names <paramref name="input"/> in its <c>inputs</c>.</summary>
    public async Task<IReadOnlyList<string>> AgentsUsingAsync(IReadOnlySet<string> inputs)
    {
        await repo.EnsureAsync();
        var users = new List<string>();
        var files = (await repo.Git.RunAsync("ls-tree", "--name-only", "main", "agents/")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var file in files)
        {
            var agent = Path.GetFileNameWithoutExtension(file);
            try
            {
                if ((await repo.ReadAgentAsync(agent))?.Inputs?.Any(inputs.Contains) == true) users.Add(agent);
            }
            catch (MetaFileException e)
            {
                logger.LogWarning("meta: {Reason}", e.Message);
            }
        }
        return users;
    }

    /// <summary>
    /// An input's pin now: a git repository's <c>HEAD</c> commit, or a SHA-256 over a regular file's bytes or a directory's
    /// regular files (names and bytes, in order; symlinks and special files skipped, never opened). Devices, FIFOs, sockets
    /// and a symlink as the source itself are refused; reading is bounded in bytes and time (<see cref="MetaInputPins"/>).
    /// </summary>
    public async Task<string> PinOfAsync(string source, CancellationToken cancellationToken = default)
    {
        var status = MetaInputPins.StatusOf(source) ?? throw new MetaFileException($"input source {source} does not exist");
        if (MetaInputPins.RefusalOf(source, status) is { } refusal) throw new MetaFileException(refusal);
        var limit = options.Value.InputTimeout;
        if (status.Type == FileStatus.Directory && Directory.Exists(Path.Combine(source, ".git")))
            return (await repo.Git.RunAsync(null, limit, ["-C", source, "rev-parse", "HEAD"])).Trim();
        try
        {
            // Off the request's thread: the reads are synchronous (each bounded); the walk checks the clock between them.
            return await Task.Run(() =>
            {
                using var pins = new MetaInputPins(options.Value.MaxInputBytes, limit, cancellationToken);
                return pins.Pin(source, status);
            }, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MetaFileException($"input source {source} cannot be read: {e.Message}");
        }
    }
}
