using Dapper;
using Hive.Features.Governance.Spend;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Work.Forecasts;

/// <summary>
/// Which turns worked on which ticket, and so what a ticket cost. A turn works on the tickets its agent holds in a worked
/// phase when it is granted, and on any it claims while it runs. A ticket's cost is the gateway's metered cost of its
/// turns, a turn that worked on n tickets counting 1/n to each (the host cannot tell which call was for which); unknown
/// (null) until one of its turns has a metered call. Calls made outside any turn are no ticket's.
/// </summary>
internal static class TicketTurns
{
    public static void Note(StateChange change, long turnId, IEnumerable<long> tickets, string agent, DateTimeOffset now)
    {
        foreach (var ticket in tickets)
            change.Execute("""
                INSERT INTO ticket_turns (turn_id, ticket_id, agent, noted_at) VALUES (@turnId, @ticket, @agent, @now) ON CONFLICT DO NOTHING
                """, new { turnId, ticket, agent, now });
    }

    /// <summary>The tickets <paramref name="agent"/> holds in a worked (not terminal) phase.</summary>
    public static IReadOnlyList<long> HeldBy(StateChange change, string agent, WorkflowCatalog catalog) =>
        change.Query<(long Id, string Workflow, string Phase)>("SELECT id, workflow, phase FROM tickets WHERE assignee = @agent", new { agent })
            .Where(t => !catalog.IsTerminal(t.Workflow, t.Phase)).Select(t => t.Id).ToList();

    /// <summary>What <paramref name="ticket"/> cost so far, metered; null when none of its turns had a metered call.</summary>
    public static async Task<double?> CostAsync(StateChange change, IMediator mediator, long ticket)
    {
        var turns = change.Query<(long TurnId, long Shares)>("""
            SELECT t.turn_id, (SELECT count(*) FROM ticket_turns s WHERE s.turn_id = t.turn_id) FROM ticket_turns t WHERE t.ticket_id = @ticket
            """, new { ticket }).ToList();
        if (turns.Count == 0) return null;
        var spend = await mediator.Send(new ReadTurnSpend.Query(turns.Select(t => t.TurnId).ToList()), CancellationToken.None);
        var metered = turns.Where(t => spend.TryGetValue(t.TurnId, out var s) && s.MeteredCalls > 0).ToList();
        return metered.Count == 0 ? null : metered.Sum(t => spend[t.TurnId].MeteredCostUsd / t.Shares);
    }
}
