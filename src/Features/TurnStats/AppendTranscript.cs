using System.Text;
using FluentValidation;
using Hive.Contracts.TurnStats;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.TurnStats;

/// <summary>
/// The harness forwards what its program prints as the turn runs, a batch at a time: entries of the
/// agent's open turn (turn_id NULL until <see cref="RecordTurn"/> files them under the turn it records). A turn keeps at
/// most <see cref="TurnStatsOptions.TranscriptTurnBytes"/> of text: past it one <c>truncated</c> entry, and later entries
/// are dropped (counted in the reply). An agent stores at most <see cref="TurnStatsOptions.TranscriptBytesPerHour"/> an hour,
/// every turn together: a batch past it is refused (<c>too_many</c>). The stored entries go to the agent's page only
/// (<see cref="TranscriptAppended"/>).
/// </summary>
public static class AppendTranscript
{
    /// <summary>What an entry may be; <c>screen</c> is a terminal program's screen as text, rows by lines (<c>hivectl run --pty</c>).</summary>
    public static readonly IReadOnlyList<string> Kinds = ["text", "tool_use", "tool_result", "result", "system", "output", "screen"];
    public const string Truncated = "truncated";
    public const int MaxEntries = 64;
    public const int MaxTextBytes = 16 * 1024;
    public const int MaxToolBytes = 64;


    public sealed record Command(string Agent, IReadOnlyList<TranscriptEntry>? Entries) : IRequest<Result>, IChangesState;

    public sealed record Result(int Stored, int Dropped);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Entries).NotNull().WithMessage("entries is required")
                .Must(e => e is null || e.Count <= MaxEntries).WithMessage($"at most {MaxEntries} entries at a time");
            RuleForEach(c => c.Entries).ChildRules(entry =>
            {
                entry.RuleFor(e => e.Kind).Must(k => k is not null && Kinds.Contains(k)).WithMessage($"kind must be one of {string.Join(", ", Kinds)}");
                entry.RuleFor(e => e.Text).NotNull().WithMessage("text is required")
                    .Must(t => t is null || Encoding.UTF8.GetByteCount(t) <= MaxTextBytes).WithMessage($"text is limited to {MaxTextBytes} UTF-8 bytes");
                entry.RuleFor(e => e.Tool).Must(t => t is null || (Encoding.UTF8.GetByteCount(t) <= MaxToolBytes && !t.Any(char.IsControl)))
                    .WithMessage($"tool is limited to {MaxToolBytes} UTF-8 bytes, without control characters");
            });
        }
    }

    internal sealed class Handler(
        StateChanges changes, TimeProvider clock, IOptions<TurnStatsOptions> options, Hive.Shared.Search.ISearchIndex search, TranscriptBudget hourly)
        : IRequestHandler<Command, Result>
    {
        public Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var open = change.QuerySingle<(long Bytes, long Truncated)>("""
                SELECT coalesce(sum(length(CAST(text AS BLOB))), 0), coalesce(sum(kind = 'truncated'), 0)
                FROM transcript_entries WHERE agent = @Agent AND turn_id IS NULL
                """, new { command.Agent });
            if (open.Truncated > 0) return Task.FromResult(new Result(0, command.Entries!.Count));

            var now = clock.GetUtcNow();
            var budget = options.Value.TranscriptTurnBytes - open.Bytes;
            var stored = new List<TranscriptEntryView>();
            foreach (var entry in command.Entries!)
            {
                var bytes = Encoding.UTF8.GetByteCount(entry.Text!);
                var (kind, text, tool) = bytes <= budget ? (entry.Kind!, entry.Text!, entry.Tool)
                    : (Truncated, "… truncated: this turn's transcript reached its size limit", (string?)null);
                stored.Add(change.QuerySingle<TranscriptEntryRow>($"""
                    INSERT INTO transcript_entries (agent, turn_id, at, kind, tool, text) VALUES (@Agent, NULL, @At, @Kind, @Tool, @Text)
                    RETURNING {TranscriptEntryRow.Columns}
                    """, new { command.Agent, At = now, Kind = kind, Tool = tool, Text = text }).View());
                if (kind == Truncated) break;
                budget -= bytes;
            }
            // The agent's hourly budget, every turn together: past it the whole batch is refused and nothing stays stored.
            var storedBytes = stored.Sum(e => (long)Encoding.UTF8.GetByteCount(e.Text));
            hourly.Budget.Take(command.Agent, storedBytes);
            change.OnRolledBack(() => hourly.Budget.GiveBack(command.Agent, storedBytes));
            change.AfterPublished(search.Wake); // the index reads the entries behind the change, from its cursor
            change.Raise(new TranscriptAppended(command.Agent, stored));
            return Task.FromResult(new Result(stored.Count(e => e.Kind != Truncated), command.Entries!.Count - stored.Count(e => e.Kind != Truncated)));
        }
    }
}
