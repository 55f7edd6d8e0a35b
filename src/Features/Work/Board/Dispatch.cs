using Dapper;
using Hive.Contracts.Work;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work;

/// <summary>
/// One round of the board, as one change:
/// <list type="number">
/// <item>offers not claimed within <c>OfferSeconds</c> are taken back;</item>
/// <item>each column with room pulls the next ready tickets: those whose gate passed and wait for it, and those queued in
/// the phase before it (the backlog), their dependencies done, highest priority first, then oldest;</item>
/// <item>a ticket in a reviewed phase without an open review gets one asked;</item>
/// <item>each unclaimed ticket in a worked phase, dependencies done, is offered (a message from <c>hive</c> carrying the
/// ticket and the phase's prompt) to an idle agent with a capability the phase needs: up, not held by the governor,
/// holding no open ticket and no other offer. Its last worker first, when it is idle. Its cost forecast is made then, and
/// a ticket whose P90 is above what that agent's daily budget has left waits for the operator's yes (<see cref="Forecasts.TicketForecasts"/>).</item>
/// </list>
/// </summary>
internal static class Dispatch
{
    public const string Mover = "board";
    public const string OfferKind = "ticket_offer";

    public sealed record Command : IRequest, IChangesState;

    internal sealed class Handler(StateChanges changes, WorkflowCatalog catalog, TicketMoves moves, TicketReviews reviews, TicketFacts facts, AgentPool pool,
        Forecasts.TicketForecasts forecasts, IMediator mediator, IOptions<WorkOptions> options, TimeProvider clock, ILogger<Command> logger) : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var now = clock.GetUtcNow();
            foreach (var id in change.Query<long>("""
                UPDATE tickets SET offered_to = NULL, offered_at = NULL WHERE assignee IS NULL AND offered_to IS NOT NULL AND offered_at < @cutoff RETURNING id
                """, new { cutoff = now - TimeSpan.FromSeconds(options.Value.OfferSeconds) }))
                change.RaiseTicketChanged(TicketReads.Get(change, id), catalog);

            var terminal = facts.TerminalPhases();
            foreach (var workflow in catalog.All.Values)
                foreach (var phase in workflow.Phases.Where(p => !p.Side && p != workflow.Initial).Reverse())
                    await PullAsync(change, workflow, phase, terminal);

            foreach (var id in change.Query<long>("""
                SELECT id FROM tickets WHERE review_question_id IS NULL AND resume_phase IS NULL AND next_phase IS NULL AND (workflow || '/' || phase) IN (SELECT value FROM json_each(@reviewed))
                ORDER BY priority DESC, id
                """, new { reviewed = catalog.PhaseKeys(p => p.ReviewedBy is not null) }))
            {
                var row = TicketReads.Get(change, id);
                try
                {
                    change.RaiseTicketChanged(await reviews.AskAsync(change, mediator, row, row.LastWorker), catalog);
                }
                catch (Hive.Shared.Errors.HiveException e)
                {
                    // Refused before anything was written (a quota, a reviewer gone): this ticket waits, the round goes on.
                    logger.LogWarning("work: ticket {Ticket}'s review could not be asked ({Why}); the next round tries again", id, e.Message);
                }
            }

            await OfferAsync(change, terminal, now);
            return Unit.Value;
        }

        /// <summary>Moves into <paramref name="phase"/> as many ready tickets as it has room for.</summary>
        private async Task PullAsync(StateChange change, Workflow workflow, Phase phase, string terminal)
        {
            var room = TicketMoveRule.Room(phase, facts.Count(change, workflow.Name, phase.Name));
            if (room <= 0) return;
            var queues = workflow.Phases.Where(p => !p.IsWorked && p.ReviewedBy is null && !p.Terminal && !p.Side && workflow.NextAfter(p) == phase)
                .Select(p => p.Name).ToList();
            var ready = change.Query<long>($"""
                SELECT t.id FROM tickets t
                WHERE t.workflow = @workflow AND t.resume_phase IS NULL
                  AND (t.next_phase = @phase OR (t.phase IN (SELECT value FROM json_each(@queues)) AND t.assignee IS NULL AND t.next_phase IS NULL))
                  AND {DependenciesDone} AND NOT EXISTS ({MergeQueue.QueueEntries.InQueue})
                ORDER BY t.priority DESC, t.id LIMIT @room
                """, new { workflow = workflow.Name, phase = phase.Name, queues = TicketRow.Json(queues), terminal, room = Math.Min(room, 10_000) });
            // The query picks the candidates; the rule has the last word on each, the column filling as they move.
            foreach (var id in ready)
            {
                var row = TicketReads.Get(change, id);
                var verdict = TicketMoveRule.Check(workflow, row, phase, MoveKind.Board, Mover, facts.For(change, row, phase));
                if (verdict is MoveVerdict.Move) await moves.ApplyAsync(change, mediator, row, phase, Mover, verdict);
            }
        }

        private async Task OfferAsync(StateChange change, string terminal, DateTimeOffset now)
        {
            var worked = catalog.PhaseKeys(p => p.IsWorked);
            var open = change.Query<long>($"""
                SELECT t.id FROM tickets t
                WHERE t.assignee IS NULL AND t.offered_to IS NULL AND t.resume_phase IS NULL AND t.next_phase IS NULL
                  AND (t.workflow || '/' || t.phase) IN (SELECT value FROM json_each(@worked)) AND {DependenciesDone}
                ORDER BY t.priority DESC, t.id
                """, new { worked, terminal });
            if (open.Count == 0) return;
            var busy = change.Query<string>("""
                SELECT assignee FROM tickets WHERE assignee IS NOT NULL UNION SELECT offered_to FROM tickets WHERE offered_to IS NOT NULL
                """).ToHashSet(StringComparer.Ordinal);
            var idle = (await pool.ListAsync(mediator, CancellationToken.None))
                .Where(a => a.Up && a.Held is null && !busy.Contains(a.Name) && a.Name != AgentNames.Manager).ToList();
            // An agent holding a ticket's worktree (its ticket in review, or queued to land) cannot claim another ticket that
            // needs one: it is offered that ticket back, or tickets without a repository.
            var holding = change.Query<(string Agent, long Ticket)>("SELECT agent, ticket_id FROM ticket_workspaces WHERE removed_at IS NULL")
                .ToDictionary(h => h.Agent, h => h.Ticket, StringComparer.Ordinal);
            foreach (var id in open)
            {
                if (idle.Count == 0) break;
                var row = TicketReads.Get(change, id);
                var workflow = catalog.Get(row.Workflow);
                var phase = workflow.Find(row.Phase)!;
                bool Takes(PoolAgent a) => a.Has(phase.Needs) && (workflow.Repository is null || !holding.TryGetValue(a.Name, out var held) || held == row.Id);
                var last = row.LastWorker;
                var agent = idle.FirstOrDefault(a => a.Name == last && Takes(a)) ?? idle.FirstOrDefault(Takes);
                if (agent is null) continue;
                // Its forecast, against what the agent's daily budget has left: over it, no offer until the operator's yes.
                var forecast = await forecasts.CheckAsync(change, mediator, row, agent.Name);
                if (forecast.Refusal is not null)
                {
                    if (forecast.Changed) change.RaiseTicketChanged(row, catalog);
                    continue;
                }
                idle.Remove(agent);
                change.Execute("UPDATE tickets SET offered_to = @Name, offered_at = @now, updated_at = @now WHERE id = @id", new { agent.Name, now, id });
                await mediator.Send(new AppendMessages.Command([new AppendMessages.Draft(AgentNames.Hive, agent.Name, OfferKind, OfferText(row, phase),
                    new Dictionary<string, object?> { ["ticket_id"] = row.Id, ["phase"] = row.Phase, ["workflow"] = row.Workflow })]), CancellationToken.None);
                change.RaiseTicketChanged(TicketReads.Get(change, id), catalog);
            }
        }

        private static string OfferText(TicketRow row, Phase phase) =>
            $"Ticket #{row.Id} is yours to take: \"{row.Title}\" ({row.Workflow}, phase {row.Phase}). " +
            $"Claim it with ticket_claim {{\"id\": {row.Id}}} (hivectl ticket claim {row.Id}); the claim's reply carries its context." +
            (phase.Prompt is { } prompt ? $"\n\n{prompt.Trim()}" : "");
    }

    /// <summary>SQL: ticket <c>t</c>'s dependencies are all in a terminal phase (<c>@terminal</c>: <see cref="TicketFacts.TerminalPhases"/>).</summary>
    internal const string DependenciesDone = """
        NOT EXISTS (SELECT 1 FROM ticket_dependencies d JOIN tickets dt ON dt.id = d.depends_on
                    WHERE d.ticket_id = t.id AND (dt.workflow || '/' || dt.phase) NOT IN (SELECT value FROM json_each(@terminal)))
        """;
}
