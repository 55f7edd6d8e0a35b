using Hive.Contracts.Containers;
using Hive.Shared;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers;

/// <summary>
/// The retention sweep (<c>Hive:Containers:TombstoneRetainDays</c>): each tombstone destroyed longer ago than that is
/// purged through <see cref="PurgeTombstone"/> (one change each, the same event as the operator's purge), unless its dir
/// holds git work not pushed anywhere, or could not be checked (<see cref="TombstoneGitWork"/>): then it is kept, with
/// the reason, and checked again by each later sweep. Run by <see cref="TombstoneSweeper"/> and by the operator's
/// <c>POST /api/tombstones/sweep</c>; with retention off it does nothing. Git runs outside any change (it may take
/// seconds per repository), so a tombstone is purged only if it is still the one that was checked.
/// </summary>
public static class SweepTombstones
{
    public sealed record Command : IRequest<Result>;

    /// <param name="RetainDays">Null: retention is off, and nothing was done.</param>
    public sealed record Result(int? RetainDays, IReadOnlyList<string> Purged, IReadOnlyList<KeptTombstone> Kept, DateTimeOffset? NextSweepAt);

    public sealed record KeptTombstone(string Name, string Reason);

    internal sealed class Handler(
        AgentRegistry registry, TombstoneRetention retention, TombstoneGitWork git, HivePaths paths, IMediator mediator, TimeProvider clock,
        ILogger<Command> logger) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            if (retention.Cutoff() is null) return new Result(null, [], [], null);
            await retention.Sweeping.WaitAsync(cancellationToken);
            try
            {
                var cutoff = retention.Cutoff()!.Value;
                var purged = new List<string>();
                var kept = new List<(TombstoneView Tombstone, string Reason)>();
                foreach (var tombstone in registry.Tombstones().Where(t => t.DestroyedAt <= cutoff))
                {
                    var reason = await git.ReasonToKeepAsync(paths.AgentDir(tombstone.Name), cancellationToken);
                    if (reason is not null)
                    {
                        kept.Add((tombstone, reason));
                        continue;
                    }
                    try
                    {
                        await mediator.Send(new PurgeTombstone.Command(tombstone.Name, tombstone.DestroyedAt), cancellationToken);
                        purged.Add(tombstone.Name);
                    }
                    catch (NotFoundException)
                    {
                        // Created again (or purged) while it was checked: not the tombstone that was checked any more.
                    }
                    catch (ConflictException e)
                    {
                        kept.Add((tombstone, $"could not purge: {e.Message}"));
                    }
                }
                await mediator.Send(new Record(kept, clock.GetUtcNow()), cancellationToken);
                foreach (var (tombstone, reason) in kept.Where(k => k.Tombstone.Retention.Reason != k.Reason)) // once, not every hour
                    logger.LogInformation("containers: kept the tombstone of {Agent} past retention: {Reason}", tombstone.Name, reason);
                return new Result(retention.RetainDays, purged, kept.Select(k => new KeptTombstone(k.Tombstone.Name, k.Reason)).ToList(),
                    retention.NextSweepAt);
            }
            finally
            {
                retention.Sweeping.Release();
            }
        }
    }

    /// <summary>
    /// The sweep's last step: each kept tombstone's reason and check time (only if it is still the one checked), and one
    /// <c>tombstones_changed</c> — also when nothing changed, so the page's "next purge" follows the sweeps.
    /// </summary>
    internal sealed record Record(IReadOnlyList<(TombstoneView Tombstone, string Reason)> Kept, DateTimeOffset CheckedAt) : IRequest, IChangesState;

    internal sealed class RecordHandler(StateChanges changes, AgentRegistry registry) : IRequestHandler<Record>
    {
        public Task<Unit> Handle(Record command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            foreach (var (tombstone, reason) in command.Kept)
                change.Execute("UPDATE tombstones SET kept_reason = @reason, checked_at = @at WHERE name = @name AND destroyed_at = @destroyedAt",
                    new { reason, at = command.CheckedAt, name = tombstone.Name, destroyedAt = tombstone.DestroyedAt });
            change.Raise(registry.TombstonesNow());
            return Unit.Task;
        }
    }
}
