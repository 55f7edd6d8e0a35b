using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// The operator purges a tombstone: its dir under <c>&lt;DataDir&gt;/agents/</c> is deleted, and what the stage made for the
/// name (<see cref="Runtime.AgentStage.Forget"/>). The dir must
/// be a real directory directly under <c>agents/</c> (not a symlink, not resolving elsewhere); it is first renamed to a
/// private name, so what is deleted is what was checked; and the deletion never follows a symlink, so a link an agent
/// left in its state dir (to anywhere) is removed, not its target.
/// </summary>
public static class PurgeTombstone
{
    /// <param name="DestroyedAt">
    /// When given, only the tombstone of that destroy is purged (else 404): the retention sweep checked that one, and a
    /// create and destroy of the same name since would have left another.
    /// </param>
    public sealed record Command(string Name, DateTimeOffset? DestroyedAt = null) : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, AgentRegistry registry, HivePaths paths, ILogger<Command> logger) : IRequestHandler<Command>
    {
        public Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var name = AgentName.Checked(command.Name);
            var change = changes.Current;
            if (change.Execute("DELETE FROM tombstones WHERE name = @name AND (@at IS NULL OR destroyed_at = @at)", new { name, at = command.DestroyedAt }) == 0)
                throw new NotFoundException($"no tombstone named {name}");

            var dir = paths.AgentDir(name);
            var info = new DirectoryInfo(dir);
            if (info.LinkTarget is not null || File.Exists(dir))
                throw new ConflictException($"{dir} is not a real directory; nothing was deleted");
            if (info.Exists)
            {
                var parent = Directory.ResolveLinkTarget(paths.AgentsDir, returnFinalTarget: true)?.FullName ?? paths.AgentsDir;
                if (Path.GetDirectoryName(Path.GetFullPath(dir)) != Path.GetFullPath(paths.AgentsDir) || !Directory.Exists(parent))
                    throw new ConflictException($"{dir} does not resolve directly under {paths.AgentsDir}; nothing was deleted");
                var doomed = Path.Combine(paths.AgentsDir, $".purging-{name}-{Guid.NewGuid():N}");
                Directory.Move(dir, doomed); // rename(2): the name itself, never what a link would point to
                Runtime.DirectoryTree.Delete(doomed);
                logger.LogInformation("containers: purged the tombstone of {Agent}", name);
            }
            // No run of the name is left: a create of it would have consumed the tombstone, in a change before this one.
            Runtime.AgentStage.Forget(paths, name);
            change.Raise(registry.TombstonesNow());
            return Unit.Task;
        }
    }
}
