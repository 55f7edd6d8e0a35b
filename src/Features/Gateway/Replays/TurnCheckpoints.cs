using System.Collections.Concurrent;
using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Messages;
using Hive.Features.StateFiles;
using Hive.Features.TurnStats;
using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Gateway;
using Hive.Shared.Native;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Gateway.Replays;

/// <summary>One file of a checkpoint: its path under the state dir, its content's name in the recordings' store, its mode.</summary>
internal sealed record CheckpointFile(string Path, string Hash, int Mode, long Size);

/// <summary>A file a checkpoint did not keep, and why (a credential by its name, too large, not a regular file).</summary>
internal sealed record SkippedFile(string Path, string Why);

/// <summary>A message that woke the turn, as a replay hands it out again.</summary>
internal sealed record WakeMessage(string From, string Kind, string Body, Dictionary<string, JsonElement>? Meta);

/// <summary>
/// Takes each granted turn's checkpoint (<c>turn_checkpoints</c>) before the agent's program runs, for agents whose calls
/// are recorded: the messages it holds (what woke it), its conversation's session, and the files of its state dir, each
/// opened through the state-file allow-list (so credentials, links and anything but regular files stay out) and stored once
/// by content beside the recorded bodies. A file whose size and time did not change since the agent's last checkpoint is not
/// read again. What is too large is skipped and named.
/// </summary>
internal sealed class TurnCheckpoints(
    HivePaths paths, CallBodies bodies, CallRecording recordings, IOptions<GatewayOptions> options, IStateFileAllowList allowList,
    IServiceScopeFactory scopes, StateChanges changes, TimeProvider clock) : ITurnStartWitness
{
    public const long MaxFileBytes = 16L * 1024 * 1024;
    public const long MaxBytes = 256L * 1024 * 1024;
    public const int MaxFiles = 20_000;

    private sealed record Seen(long Size, DateTime WrittenAt, string Hash);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Seen>> _seen = new(StringComparer.Ordinal);

    public async Task TurnGrantedAsync(long turnId, string agent, CancellationToken cancellationToken)
    {
        if (options.Value.Recordings.Days <= 0 || !recordings.IsOn(agent)) return;
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        var messages = await mediator.Send(new ListInFlightMessages.Query(agent), cancellationToken);
        var conversation = await mediator.Send(new ReadConversation.Query(agent), cancellationToken);
        var (files, skipped) = Snapshot(agent);
        var wake = messages.Select(m => new WakeMessage(m.From, m.Kind, m.Body, m.Extra)).ToList();
        await changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("""
                INSERT OR REPLACE INTO turn_checkpoints (turn_id, agent, taken_at, session_id, model, messages, files, skipped, bytes)
                VALUES (@turnId, @agent, @now, @SessionId, @Model, @messages, @files, @skipped, @bytes)
                """, new
            {
                turnId, agent, now = clock.GetUtcNow(), conversation.SessionId, conversation.Model,
                messages = JsonSerializer.Serialize(wake, HiveJson.Options), files = JsonSerializer.Serialize(files, HiveJson.Options),
                skipped = JsonSerializer.Serialize(skipped, HiveJson.Options), bytes = files.Sum(f => f.Size),
            });
            return Task.CompletedTask;
        }, cancellationToken);
    }

    /// <summary>Forgets what was seen of an agent's files (it is gone).</summary>
    public void Forget(string agent) => _seen.TryRemove(agent, out _);

    /// <summary>The agent's state dir now: its files stored by content (a file unchanged since last time is not read again), and what was skipped.</summary>
    public (List<CheckpointFile> Files, List<SkippedFile> Skipped) Snapshot(string agent)
    {
        var root = paths.AgentStateDir(agent);
        var seen = _seen.GetOrAdd(agent, _ => new ConcurrentDictionary<string, Seen>(StringComparer.Ordinal));
        var files = new List<CheckpointFile>();
        var skipped = new List<SkippedFile>();
        long total = 0;
        var pending = new Stack<string>();
        if (Directory.Exists(root)) pending.Push(root);
        while (pending.TryPop(out var dir))
        {
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                skipped.Add(new SkippedFile(Relative(root, dir), "could not be listed"));
                continue;
            }
            foreach (var entry in entries)
            {
                var relative = Relative(root, entry);
                FileStatus? status;
                try { status = FileStatus.OfPath(entry); }
                catch (IOException) { status = null; }
                if (status is not { } s) continue; // gone meanwhile
                switch (s.Type & FileStatus.TypeMask)
                {
                    case FileStatus.Directory:
                        pending.Push(entry);
                        continue;
                    case not FileStatus.Regular:
                        skipped.Add(new SkippedFile(relative, "not a regular file"));
                        continue;
                }
                if (files.Count >= MaxFiles)
                {
                    skipped.Add(new SkippedFile(relative, $"over the checkpoint's {MaxFiles} files"));
                    continue;
                }
                var info = new FileInfo(entry);
                if (info.Length > MaxFileBytes || total + info.Length > MaxBytes)
                {
                    skipped.Add(new SkippedFile(relative, info.Length > MaxFileBytes ? $"over {MaxFileBytes >> 20} MiB" : $"over the checkpoint's {MaxBytes >> 20} MiB"));
                    continue;
                }
                if (Keep(agent, entry, relative, info, seen) is not { } file)
                {
                    skipped.Add(new SkippedFile(relative, "refused by the state-file allow-list (a credential, a hard link) or changed while read"));
                    continue;
                }
                files.Add(file);
                total += file.Size;
            }
        }
        return (files, skipped);
    }

    private CheckpointFile? Keep(string agent, string path, string relative, FileInfo info, ConcurrentDictionary<string, Seen> seen)
    {
        var mode = (int)info.UnixFileMode;
        if (seen.TryGetValue(relative, out var before) && before.Size == info.Length && before.WrittenAt == info.LastWriteTimeUtc && bodies.Keep(before.Hash))
            return new CheckpointFile(relative, before.Hash, mode, before.Size);
        var (verdict, opened) = allowList.Open(path, agent);
        if (verdict != StateFileVerdict.Allowed || opened is null) return null;
        using (opened)
        {
            var length = RandomAccess.GetLength(opened.Handle);
            if (length > MaxFileBytes) return null;
            var bytes = new byte[length];
            var read = 0;
            while (read < bytes.Length)
            {
                var n = RandomAccess.Read(opened.Handle, bytes.AsSpan(read), read);
                if (n == 0) break;
                read += n;
            }
            var hash = bodies.Store(bytes.AsMemory(0, read));
            seen[relative] = new Seen(read, info.LastWriteTimeUtc, hash);
            return new CheckpointFile(relative, hash, mode, read);
        }
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path);
}
