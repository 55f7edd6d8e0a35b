using System.Text;
using Dapper;
using Hive.Contracts.Work;
using Hive.Shared.Changes;
using Microsoft.Data.Sqlite;

namespace Hive.Features.Work.Memory;

/// <summary>
/// The memory of finished tickets, in SQL: an outcome written in the change that moves a ticket to a terminal phase
/// (<see cref="Record"/>), and the outcomes whose text best matches some words (<see cref="Find"/>), ranked by FTS5's
/// bm25 weighted by recency.
/// </summary>
internal static class TicketOutcomes
{
    /// <summary>How many words of a text make its query at most: a long body's first ones (bm25 weighs the rare ones).</summary>
    public const int MaxTerms = 64;

    /// <summary>The age, in days, at which a finished ticket's relevance counts half: what a month-old ticket did is likelier stale.</summary>
    public const double HalfWeightDays = 30;

    /// <summary>How many of the best bm25 matches are weighed again by age: enough that an old close match can yield to a recent one.</summary>
    private const int Candidates = 50;

    /// <summary>The ticket's page on the dashboard.</summary>
    public static string Link(long id) => $"/tickets/{id}";

    /// <summary>
    /// Keeps what <paramref name="row"/> (as it stood before the move) left: the summary its last worker wrote, the files
    /// it handed in, the gates of its history (this move's too: written before), and its text for search. Reaching a
    /// terminal phase again replaces it. <paramref name="costUsd"/>: what its turns were metered so far (null: unknown).
    /// </summary>
    public static void Record(StateChange change, TicketRow row, Workflow workflow, DateTimeOffset now, double? costUsd)
    {
        // The worker's summary: the last one written in a worked phase (a review's comments are not what was done).
        var entries = row.ContextEntries.Where(e => !string.IsNullOrWhiteSpace(e.Summary)).ToList();
        var last = entries.LastOrDefault(e => workflow.Find(e.Phase) is { IsWorked: true }) ?? entries.LastOrDefault();
        var files = row.ContextEntries.SelectMany(e => e.Outputs).Where(o => o.Kind == ExpectedOutput.File).Select(o => o.Value)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var gates = change.Query<(string? From, string To, string Gate)>(
                "SELECT from_phase, to_phase, gate FROM ticket_history WHERE ticket_id = @Id AND gate IS NOT NULL ORDER BY id", new { row.Id })
            .Select(h => (h.From, h.To, Result: System.Text.Json.JsonSerializer.Deserialize<GateResult>(h.Gate, Hive.Contracts.Json.HiveJson.Options)!))
            .Select(h => new OutcomeGate(h.From, h.To, h.Result.Passed, h.Result.Review)).ToList();
        var outcome = new
        {
            row.Id, row.Workflow, row.Title, row.Body, summary = last?.Summary, files = TicketRow.Json(files), gates = TicketRow.Json(gates),
            by = last?.By ?? row.LastWorker, now, labels = string.Join(' ', row.LabelList), costUsd, phases = workflow.Phases.Count(p => !p.Side),
        };
        change.Execute("""
            INSERT INTO ticket_outcomes (ticket_id, workflow, title, summary, files, gates, cost_usd, finished_by, done_at, phases)
            VALUES (@Id, @Workflow, @Title, @summary, @files, @gates, @costUsd, @by, @now, @phases)
            ON CONFLICT (ticket_id) DO UPDATE SET workflow = excluded.workflow, title = excluded.title, summary = excluded.summary,
                files = excluded.files, gates = excluded.gates, cost_usd = excluded.cost_usd, finished_by = excluded.finished_by,
                done_at = excluded.done_at, phases = excluded.phases
            """, outcome);
        change.Execute("DELETE FROM ticket_outcomes_text WHERE rowid = @Id", outcome);
        change.Execute("INSERT INTO ticket_outcomes_text (rowid, title, body, labels, summary) VALUES (@Id, @Title, @Body, @labels, @summary)", outcome);
    }

    /// <summary>
    /// The <paramref name="limit"/> outcomes that best match <paramref name="match"/> (from <see cref="MatchOf"/>), besides
    /// <paramref name="except"/>. bm25 ranks them (a title's word weighs 4, a label's or the summary's 2, the body's 1);
    /// the best <see cref="Candidates"/> are then weighed by age: relevance / (1 + age in days / <see cref="HalfWeightDays"/>),
    /// so a month-old ticket needs twice the match of today's to come first, and a tie goes to the newer.
    /// </summary>
    public static IReadOnlyList<TicketOutcome> Find(SqliteConnection connection, string match, int limit, long? except, DateTimeOffset now)
    {
        var rows = connection.Query<Row>("""
            SELECT o.ticket_id AS Id, o.title, o.workflow, o.summary, o.files, o.gates, o.cost_usd AS CostUsd, o.finished_by AS FinishedBy,
                   o.done_at AS DoneAt, bm25(ticket_outcomes_text, 4.0, 1.0, 2.0, 2.0) AS Rank
            FROM ticket_outcomes_text JOIN ticket_outcomes o ON o.ticket_id = ticket_outcomes_text.rowid
            WHERE ticket_outcomes_text MATCH @match AND (@except IS NULL OR o.ticket_id <> @except)
            ORDER BY Rank LIMIT @Candidates
            """, new { match, except, Candidates });
        // bm25 is negative, the better match the lower: its negation is the relevance.
        return rows.Select(r => (Row: r, Score: -r.Rank / (1 + Math.Max(0, (now - r.DoneAt).TotalDays) / HalfWeightDays)))
            .OrderByDescending(x => x.Score).ThenByDescending(x => x.Row.DoneAt).Take(limit)
            .Select(x => x.Row.Outcome()).ToList();
    }

    /// <summary>
    /// The FTS5 query for a text: each word (a run of letters and digits) a quoted string, any of them matching, the first
    /// <see cref="MaxTerms"/> distinct ones. Nothing typed is FTS syntax (a quote, a star, <c>NOT</c> are not operators
    /// here); null when the text has no word.
    /// </summary>
    public static string? MatchOf(string text)
    {
        var words = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var word = new StringBuilder();
        foreach (var c in text.Append(' '))
        {
            if (char.IsLetterOrDigit(c))
            {
                word.Append(c);
                continue;
            }
            if (word.Length > 0 && seen.Add(word.ToString())) words.Add(word.ToString());
            word.Clear();
            if (words.Count == MaxTerms) break;
        }
        return words.Count == 0 ? null : string.Join(" OR ", words.Select(w => $"\"{w}\""));
    }

    /// <summary>Settable, not positional: bm25() has no declared type, which Dapper's constructor matching cannot take.</summary>
    private sealed class Row
    {
        public long Id { get; init; }
        public string Title { get; init; } = "";
        public string Workflow { get; init; } = "";
        public string? Summary { get; init; }
        public string Files { get; init; } = "[]";
        public string Gates { get; init; } = "[]";
        public double? CostUsd { get; init; }
        public string? FinishedBy { get; init; }
        public DateTimeOffset DoneAt { get; init; }
        public double Rank { get; init; }

        public TicketOutcome Outcome() => new(Id, Title, Workflow, Summary, Read<List<string>>(Files), Read<List<OutcomeGate>>(Gates), CostUsd, FinishedBy,
            DoneAt, Link(Id));

        private static T Read<T>(string json) where T : new() =>
            System.Text.Json.JsonSerializer.Deserialize<T>(json, Hive.Contracts.Json.HiveJson.Options) ?? new T();
    }
}
