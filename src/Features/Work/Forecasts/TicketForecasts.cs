using System.Globalization;
using Dapper;
using Hive.Contracts.Work;
using Hive.Features.Governance;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Work.Forecasts;

/// <summary>
/// A ticket's cost forecast, made when it is offered or claimed: the finished tickets of known cost most like it (the
/// memory's full-text match, <see cref="Memory.TicketOutcomes"/>'s bm25 weighted by recency, counting double for the same
/// workflow and half again for a workflow of as many phases), the closest <see cref="MaxBasis"/> within
/// <see cref="Floor"/> of the best; their costs' weighted median and 90th percentile (each an observed cost, so within
/// their range). And the gate it sets: a ticket whose P90 is above what its assignee's daily budget has left starts only
/// with the operator's yes, asked once per ticket.
/// </summary>
internal sealed class TicketForecasts(WorkflowCatalog catalog, TimeProvider clock)
{
    /// <summary>The most finished tickets a forecast rests on.</summary>
    public const int MaxBasis = 10;

    /// <summary>A ticket counts only when it matches at least this share of the best match: one shared common word is not likeness.</summary>
    public const double Floor = 0.5;

    public const string StartIt = "start it";
    public const string LeaveIt = "leave it unstarted";

    /// <summary>
    /// The least bm25 relevance that is a likeness: a word nearly every finished ticket has weighs a millionth (FTS5's
    /// floor), so a match on such words alone ("the") is not one.
    /// </summary>
    public const double MinRelevance = 0.001;

    private const int Candidates = 50;

    public sealed record Estimate(double? P50, double? P90, int Basis);

    /// <summary>Whether the ticket may start for the agent now; <see cref="Refusal"/> says why not; <see cref="Changed"/>: its forecast was made anew.</summary>
    public sealed record Verdict(string? Refusal, bool Changed);

    /// <summary>Settable, not positional: bm25() and a NULL have no declared type, which Dapper's constructor matching cannot take.</summary>
    private sealed class Row
    {
        public long TicketId { get; init; }
        public string Workflow { get; init; } = "";
        public long? Phases { get; init; }
        public double? P50Usd { get; init; }
        public double? P90Usd { get; init; }
        public long Basis { get; init; }
        public DateTimeOffset MadeAt { get; init; }
        public long? QuestionId { get; init; }
        public string? Decision { get; init; }
        public double CostUsd { get; init; }
        public DateTimeOffset DoneAt { get; init; }
        public double Rank { get; init; }
    }

    public Estimate Make(SqliteConnection connection, SqliteTransaction? transaction, TicketRow row, DateTimeOffset now)
    {
        if (Memory.TicketOutcomes.MatchOf($"{row.Title} {string.Join(' ', row.LabelList)} {row.Body}") is not { } match) return new(null, null, 0);
        var phases = PhasesOf(row.Workflow);
        var found = connection.Query<Row>("""
            SELECT o.workflow, o.phases, o.cost_usd, o.done_at, bm25(ticket_outcomes_text, 4.0, 1.0, 2.0, 2.0) AS rank
            FROM ticket_outcomes_text JOIN ticket_outcomes o ON o.ticket_id = ticket_outcomes_text.rowid
            WHERE ticket_outcomes_text MATCH @match AND o.cost_usd IS NOT NULL AND o.ticket_id <> @Id
            ORDER BY rank LIMIT @Candidates
            """, new { match, row.Id, Candidates }, transaction)
            .Where(o => -o.Rank >= MinRelevance)
            .Select(o => (Cost: o.CostUsd, Weight: -o.Rank / (1 + Math.Max(0, (now - o.DoneAt).TotalDays) / Memory.TicketOutcomes.HalfWeightDays)
                * (1 + (o.Workflow == row.Workflow ? 1 : 0) + (o.Phases == phases ? 0.5 : 0))))
            .OrderByDescending(o => o.Weight).ToList();
        if (found.Count == 0 || found[0].Weight <= 0) return new(null, null, 0);
        var basis = found.TakeWhile(o => o.Weight >= found[0].Weight * Floor).Take(MaxBasis).OrderBy(o => o.Cost).ToList();
        return new(Percentile(basis, 0.5), Percentile(basis, 0.9), basis.Count);
    }

    /// <summary>The first cost (ascending) at which the weights reach <paramref name="p"/> of their sum: a cost observed, never between two.</summary>
    private static double Percentile(IReadOnlyList<(double Cost, double Weight)> sorted, double p)
    {
        var target = sorted.Sum(o => o.Weight) * p;
        var sum = 0.0;
        foreach (var (cost, weight) in sorted)
            if ((sum += weight) >= target) return cost;
        return sorted[^1].Cost;
    }

    public int? PhasesOf(string workflow) => catalog.Find(workflow)?.Phases.Count(p => !p.Side);

    /// <summary>
    /// Makes the ticket's forecast again (stored, for the card and the API) and weighs it against what <paramref name="agent"/>'s
    /// daily budget has left: above it, the ticket waits for the operator's yes (the question asked the first time only).
    /// </summary>
    public async Task<Verdict> CheckAsync(StateChange change, IMediator mediator, TicketRow row, string agent)
    {
        var now = clock.GetUtcNow();
        var estimate = Make(change.Connection, change.Transaction, row, now);
        var stored = change.QuerySingleOrDefault<Row>(
            "SELECT p50_usd, p90_usd, basis, question_id, decision FROM ticket_forecasts WHERE ticket_id = @Id", row);
        var changed = stored is null || stored.P50Usd != estimate.P50 || stored.P90Usd != estimate.P90 || stored.Basis != estimate.Basis;
        if (changed)
            change.Execute("""
                INSERT INTO ticket_forecasts (ticket_id, p50_usd, p90_usd, basis, made_at) VALUES (@Id, @P50, @P90, @Basis, @now)
                ON CONFLICT (ticket_id) DO UPDATE SET p50_usd = excluded.p50_usd, p90_usd = excluded.p90_usd, basis = excluded.basis, made_at = excluded.made_at
                """, new { row.Id, estimate.P50, estimate.P90, estimate.Basis, now });
        if (estimate.P90 is not { } p90 || stored?.Decision == Decisions.Yes) return new(null, changed);
        var budget = await mediator.Send(new ReadBudgetLeft.Query(agent), CancellationToken.None);
        if (budget.LeftTodayUsd is not { } left || p90 <= left) return new(null, changed);

        var over = $"ticket {row.Id} is forecast at up to {Usd(p90)} (P90, from {estimate.Basis} finished ticket{(estimate.Basis == 1 ? "" : "s")} like it) " +
                   $"and {agent}'s daily budget has {Usd(left)} left";
        if (stored?.QuestionId is { } asked)
            return new(stored.Decision == Decisions.No ? $"{over}: the operator said no to starting it (question {asked})"
                : $"{over}: it starts only with the operator's yes (question {asked})", changed);
        var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, null,
            $"Ticket #{row.Id} \"{row.Title}\" is forecast to cost {Usd(estimate.P50!.Value)} (P90 {Usd(p90)}, from {estimate.Basis} finished tickets like it); " +
            $"{agent}, who would work it, has {Usd(left)} of its {Usd(budget.DailyCapUsd!.Value)} daily budget left. Start it anyway?",
            [StartIt, LeaveIt]), CancellationToken.None);
        change.Execute("UPDATE ticket_forecasts SET question_id = @question WHERE ticket_id = @Id", new { row.Id, question = question.Id });
        return new($"{over}: it starts only with the operator's yes (question {question.Id})", true);
    }

    /// <summary>The forecasts of some tickets, as their views show them.</summary>
    public static IReadOnlyDictionary<long, TicketForecast> Of(SqliteConnection connection, SqliteTransaction? transaction, IReadOnlyList<long> ids) =>
        connection.Query<Row>("""
            SELECT ticket_id, p50_usd, p90_usd, basis, made_at, question_id, decision FROM ticket_forecasts WHERE ticket_id IN (SELECT value FROM json_each(@ids))
            """, new { ids = TicketRow.Json(ids) }, transaction)
            .ToDictionary(f => f.TicketId, f => new TicketForecast(f.P50Usd, f.P90Usd, (int)f.Basis, f.MadeAt, f.QuestionId, f.Decision, Text(f.P50Usd, f.P90Usd, f.Basis)));

    private static string Text(double? p50, double? p90, long basis) => p50 is { } median && p90 is { } high
        ? $"≈ {Usd(median)} (P90 {Usd(high)}) from {basis} ticket{(basis == 1 ? "" : "s")}"
        : "no forecast: no finished ticket like it has a known cost";

    public static string Usd(double amount) => "$" + amount.ToString("0.00##", CultureInfo.InvariantCulture);

    public static class Decisions
    {
        public const string Yes = "yes";
        public const string No = "no";
    }
}
