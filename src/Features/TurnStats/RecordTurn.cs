using System.Text;
using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Json;
using Hive.Contracts.TurnStats;
using Hive.Shared.Changes;
using Hive.Shared.Turns;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// An agent reports one turn it took (the harness does, after each run of its command): what woke it, how it ended,
/// how long it took, the tokens it spent and the tools it called. The agent is its socket, never a field. Everything is
/// checked before anything is stored: a bad row is refused whole.
/// </summary>
public static class RecordTurn
{
    public static readonly IReadOnlyList<string> ResultKinds = ["ok", "failed", "prompt_too_long"];

    public const int MaxNoteBytes = 1024;
    public const int MaxModelBytes = 128;
    public const int MaxWakeFromBytes = 128;
    public const int MaxTools = 64;
    public const int MaxToolNameBytes = 64;

    /// <summary>A billion tokens of one kind in one turn: far over any model's window, far under overflow when summed.</summary>
    public const long MaxTokens = 1_000_000_000;

    /// <summary>Tool calls in one turn (in all, and of one tool), open threads and open reminders.</summary>
    public const long MaxCount = 1_000_000;

    /// <summary>A million dollars: no turn costs more; a larger figure is a bug in the reporter.</summary>
    public const double MaxCostUsd = 1_000_000;

    /// <summary>A week: no turn runs longer.</summary>
    public const long MaxDurationMs = 7L * 24 * 3600 * 1000;

    /// <summary>How far an agent's clock may run ahead of the host's.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromHours(1);

    /// <summary>How old a reported turn may be (older ones would fall to the retention sweep anyway).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(366);

    public sealed record Command(
        string Agent,
        string? Model,
        string? WakeFrom,
        string? ResultKind,
        DateTimeOffset? StartedAt,
        DateTimeOffset? EndedAt,
        long? DurationMs,
        long? InputTokens,
        long? OutputTokens,
        long? CacheReadTokens,
        long? CacheCreationTokens,
        long? ToolCallCount,
        IReadOnlyDictionary<string, long>? Tools,
        long? OpenThreadsCount,
        long? OpenRemindersCount,
        string? Note,
        double? CostUsd = null,
        long? TurnId = null) : IRequest<TurnView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(TimeProvider clock)
        {
            RuleFor(c => c.ResultKind).NotNull().WithMessage("result_kind is required")
                .Must(kind => kind is null || ResultKinds.Contains(kind))
                .WithMessage($"result_kind must be one of {string.Join(", ", ResultKinds)}");
            RuleFor(c => c.StartedAt).NotNull().WithMessage("started_at is required")
                .Must(at => at is null || at >= clock.GetUtcNow() - MaxAge).WithMessage("started_at must be within the last year");
            RuleFor(c => c.EndedAt).NotNull().WithMessage("ended_at is required")
                .Must(at => at is null || at <= clock.GetUtcNow() + MaxClockSkew).WithMessage("ended_at must not be in the future");
            RuleFor(c => c).Must(c => c.StartedAt is null || c.EndedAt is null || c.EndedAt >= c.StartedAt)
                .WithName("ended_at").WithMessage("ended_at must not be before started_at");
            RuleFor(c => c).Must(c => c.StartedAt is null || c.EndedAt is null || c.DurationMs is not null
                    || (c.EndedAt.Value - c.StartedAt.Value).TotalMilliseconds <= MaxDurationMs)
                .WithName("duration_ms").WithMessage("a turn lasts at most a week");

            Between(c => c.DurationMs, "duration_ms", MaxDurationMs);
            Between(c => c.InputTokens, "input_tokens", MaxTokens);
            Between(c => c.OutputTokens, "output_tokens", MaxTokens);
            Between(c => c.CacheReadTokens, "cache_read_tokens", MaxTokens);
            Between(c => c.CacheCreationTokens, "cache_creation_tokens", MaxTokens);
            Between(c => c.ToolCallCount, "tool_call_count", MaxCount);
            Between(c => c.OpenThreadsCount, "open_threads_count", MaxCount);
            Between(c => c.OpenRemindersCount, "open_reminders_count", MaxCount);

            RuleFor(c => c.TurnId).GreaterThan(0).When(c => c.TurnId is not null).WithName("turn_id").WithMessage("turn_id must be a turn id");
            RuleFor(c => c.CostUsd).Must(cost => cost is null || (double.IsFinite(cost.Value) && cost >= 0 && cost <= MaxCostUsd))
                .WithName("cost_usd").WithMessage($"cost_usd must be between 0 and {MaxCostUsd}");

            Bytes(c => c.Model, "model", MaxModelBytes);
            Bytes(c => c.WakeFrom, "wake_from", MaxWakeFromBytes);
            Bytes(c => c.Note, "note", MaxNoteBytes);

            RuleFor(c => c.Tools).Must(tools => tools is null || tools.Count <= MaxTools)
                .WithName("tools").WithMessage($"tools may name at most {MaxTools} tools");
            RuleFor(c => c.Tools).Must(tools => tools is null || tools.Keys.All(name =>
                    !string.IsNullOrWhiteSpace(name) && Encoding.UTF8.GetByteCount(name) <= MaxToolNameBytes && !name.Any(char.IsControl)))
                .WithName("tools").WithMessage($"each tool name must be 1 to {MaxToolNameBytes} UTF-8 bytes, without control characters");
            RuleFor(c => c.Tools).Must(tools => tools is null || tools.Values.All(n => n is >= 0 and <= MaxCount))
                .WithName("tools").WithMessage($"each tool's count must be between 0 and {MaxCount}");
        }

        private void Between(System.Linq.Expressions.Expression<Func<Command, long?>> field, string name, long max) =>
            RuleFor(field).Must(n => n is null || (n >= 0 && n <= max)).WithName(name).WithMessage($"{name} must be between 0 and {max}");

        private void Bytes(System.Linq.Expressions.Expression<Func<Command, string?>> field, string name, int max) =>
            RuleFor(field).Must(text => text is null || Encoding.UTF8.GetByteCount(text) <= max)
                .WithName(name).WithMessage($"{name} is limited to {max} UTF-8 bytes");
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock, ITurnLedger ledger) : IRequestHandler<Command, TurnView>
    {
        public async Task<TurnView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO turns (agent, recorded_at, model, wake_from, result_kind, started_at, ended_at, duration_ms,
                    input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, tool_call_count, tools,
                    open_threads_count, open_reminders_count, note, cost_usd, granted_turn_id)
                VALUES (@Agent, @RecordedAt, @Model, @WakeFrom, @ResultKind, @StartedAt, @EndedAt, @DurationMs,
                    @InputTokens, @OutputTokens, @CacheReadTokens, @CacheCreationTokens, @ToolCallCount, @Tools,
                    @OpenThreadsCount, @OpenRemindersCount, @Note, @CostUsd, @TurnId)
                RETURNING {TurnRow.Columns};
                """;
            var now = clock.GetUtcNow();
            var started = command.StartedAt!.Value.ToUniversalTime();
            var ended = command.EndedAt!.Value.ToUniversalTime();
            var tools = command.Tools ?? new Dictionary<string, long>();
            var change = changes.Current;
            var row = change.QuerySingle<TurnRow>(insert, new
            {
                command.Agent,
                RecordedAt = now,
                Model = Blank(command.Model),
                WakeFrom = Blank(command.WakeFrom),
                command.ResultKind,
                StartedAt = started,
                EndedAt = ended,
                // Absent: the span the agent gave (a harness without a stopwatch of its own).
                DurationMs = command.DurationMs ?? (long)(ended - started).TotalMilliseconds,
                InputTokens = command.InputTokens ?? 0,
                OutputTokens = command.OutputTokens ?? 0,
                CacheReadTokens = command.CacheReadTokens ?? 0,
                CacheCreationTokens = command.CacheCreationTokens ?? 0,
                // Absent: the tools' own counts add up to it.
                ToolCallCount = command.ToolCallCount ?? tools.Values.Sum(),
                Tools = JsonSerializer.Serialize(tools, HiveJson.Options),
                command.OpenThreadsCount,
                command.OpenRemindersCount,
                Note = Blank(command.Note),
                command.CostUsd,
                command.TurnId,
            });
            var view = row.View();
            // The transcript the harness sent while this turn ran is filed under it.
            change.Execute("UPDATE transcript_entries SET turn_id = @Id WHERE agent = @Agent AND turn_id IS NULL", new { view.Id, command.Agent });
            // The granted turn ends and its spend is counted in this change: a refusal there refuses the record too. The row
            // keeps the turn as accounted (a metered turn's figures are its calls'), and what the agent said beside it.
            var account = await ledger.RecordAsync(new TurnReport(command.Agent, command.TurnId, view.Model, view.ResultKind, view.InputTokens,
                view.OutputTokens, view.CacheReadTokens, view.CacheCreationTokens, command.CostUsd, started), cancellationToken);
            view = change.QuerySingle<TurnRow>($"""
                UPDATE turns SET cost_usd = @CostUsd, cost_source = @CostSource, reported_cost_usd = @ReportedCostUsd,
                    input_tokens = @InputTokens, output_tokens = @OutputTokens, cache_read_tokens = @CacheReadTokens,
                    cache_creation_tokens = @CacheCreationTokens
                WHERE id = @id
                RETURNING {TurnRow.Columns};
                """, new
            {
                id = view.Id, account.CostUsd, account.CostSource, account.ReportedCostUsd, account.InputTokens, account.OutputTokens,
                account.CacheReadTokens, account.CacheCreationTokens,
            }).View();
            change.Raise(new TurnRecorded(view, TurnAggregates.Read(change.Connection, change.Transaction, command.Agent, now)));
            return view;
        }

        private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;
    }
}
