using System.Text.Json;
using System.Text.RegularExpressions;
using Hive.Contracts.Json;
using Hive.Features.Gateway.Recordings;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Errors;
using Hive.Shared.Files;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// What a replay and a fork share: the checks on the new agent's name, and a checkpoint's files laid into its state dir.
/// </summary>
internal sealed partial class CheckpointRestore(HivePaths paths, CallBodies bodies, IAgentDirectory agents)
{
    /// <summary>Refuses a name that is malformed, reserved, an agent's, or a tombstone's (nothing is made yet).</summary>
    public void CheckName(string name, string option)
    {
        if (!AgentNames.IsWellFormed(name))
            throw new BadRequestException($"{name} is not an agent's name (^[a-z][a-z0-9-]{{0,30}}$): give one with {option}");
        if (AgentNames.Reserved.Contains(name)) throw new BadRequestException($"{name} is a reserved name");
        if (agents.IsAgent(name)) throw new ConflictException($"{name} is taken: an agent of that name exists");
        if (Directory.Exists(paths.AgentDir(name)))
            throw new ConflictException($"{name} is taken: a tombstone or an old state dir of that name exists (purge it, or give another name with {option})");
    }

    /// <summary>Whether every file of the checkpoint is still stored (marking each used, so retention keeps them a while longer).</summary>
    public bool Kept(string files) => Files(files).All(f => bodies.Keep(f.Hash));

    /// <summary>
    /// The checkpoint's files into the new agent's state dir. A path that names the original's state dir (a client that
    /// keeps its sessions under a name made of its working directory, as Claude Code's <c>~/.claude/projects/-agents-NAME-state</c>)
    /// is renamed to the new agent's, so the client finds its conversation where it now runs.
    /// </summary>
    public void Restore(string files, string source, string name)
    {
        paths.EnsureAgentDirs(name);
        var root = paths.AgentStateDir(name);
        var renames = new[] { paths.AgentStateDir(source), $"/agents/{source}/state" }
            .Zip([root, $"/agents/{name}/state"], (from, to) => (From: Encoded(from), To: Encoded(to))).ToList();
        foreach (var file in Files(files))
        {
            var relative = renames.Aggregate(file.Path, (path, rename) => path.Replace(rename.From, rename.To, StringComparison.Ordinal));
            var target = Path.GetFullPath(Path.Combine(root, relative));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) continue; // stored paths are relative; never outside
            Directory.CreateDirectory(Path.GetDirectoryName(target)!, HivePaths.PrivateDir);
            var bytes = bodies.Read(file.Hash) ?? throw new ConflictException($"a file of the checkpoint ({file.Path}) was removed by retention meanwhile");
            PrivateFile.Write(target, bytes, Durability.None);
            File.SetUnixFileMode(target, (UnixFileMode)file.Mode & (UnixFileMode)0x1FF);
        }
    }

    /// <summary>Removes what a start that failed had made of the new agent's dir, unless an agent of that name exists.</summary>
    public void Undo(string name)
    {
        if (agents.IsAgent(name)) return;
        try
        {
            var dir = paths.AgentDir(name);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // left for the operator's purge
        }
    }

    private static List<CheckpointFile> Files(string files) => JsonSerializer.Deserialize<List<CheckpointFile>>(files, HiveJson.Options) ?? [];

    private static string Encoded(string path) => NotAlphanumeric().Replace(path, "-");

    [GeneratedRegex("[^A-Za-z0-9]")]
    private static partial Regex NotAlphanumeric();
}
