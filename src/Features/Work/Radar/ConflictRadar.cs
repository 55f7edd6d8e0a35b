using Hive.Features.Work.Leases;
using Hive.Features.Work.Workspaces;
using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.Radar;

/// <summary>
/// The conflict radar: every <c>Hive:Work:RadarSeconds</c> (2) it reads the heads of the active tickets' branches (one
/// <c>git for-each-ref</c> per clone: an agent's commit in its worktree moves the clone's branch), diffs each branch that
/// moved against its base (<c>-U0</c>, kept until it moves again), and hands what <see cref="RadarPass"/> finds, with the
/// leases held now, to <see cref="ApplyConflictRisks"/>, which writes only what changed. Active: a live workspace whose
/// ticket is not done. A pass over tickets that did not move costs their heads and the rule, no diff.
/// </summary>
internal sealed class ConflictRadar(IOptions<WorkOptions> options, WorkspaceRows rows, RepositoryClones clones, WorkspaceGit git, WorkflowCatalog catalog,
    IServiceScopeFactory scopes, TimeProvider clock, ILogger<ConflictRadar> logger)
    : TriggeredBackgroundService(new WakeSignal(), TimeSpan.FromSeconds(options.Value.RadarSeconds), passAtStart: true, clock, logger)
{
    private readonly Dictionary<long, (string Head, TicketChanges Changes)> _seen = [];

    protected override async Task PassAsync(CancellationToken stoppingToken)
    {
        var active = rows.Active().Where(r => catalog.Find(r.Workflow) is { } w && !(w.Find(r.Phase)?.Terminal ?? false)).ToList();
        foreach (var gone in _seen.Keys.Except(active.Select(a => a.Row.TicketId)).ToList()) _seen.Remove(gone);
        var changes = new List<TicketChanges>();
        foreach (var repository in active.GroupBy(a => a.Row.Repository))
        {
            var bare = clones.BareOf(repository.Key);
            if (!Directory.Exists(bare)) continue;
            var heads = (await git.GitAsync(bare, ["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/ticket/"], stoppingToken, allowFailure: true))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            foreach (var (row, _, _) in repository)
            {
                if (!heads.TryGetValue(row.Branch, out var head)) continue;
                if (!_seen.TryGetValue(row.TicketId, out var seen) || seen.Head != head || seen.Changes.Owner != row.Agent)
                {
                    var patch = await git.GitAsync(bare, ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-U0", row.BaseSha, head, "--"],
                        stoppingToken, allowFailure: true);
                    _seen[row.TicketId] = seen = (head, new TicketChanges(row.TicketId, row.Agent, row.Repository, RadarPass.Parse(patch)));
                }
                changes.Add(seen.Changes);
            }
        }
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        var leases = (await mediator.Send(new ListLeases.Query(), stoppingToken)).Select(l => (l.Holder, l.Resource)).ToList();
        var found = RadarPass.Find(changes, leases);
        await mediator.Send(new ApplyConflictRisks.Command(found, changes.ToDictionary(c => c.TicketId, c => c.Owner)), stoppingToken);
    }
}
