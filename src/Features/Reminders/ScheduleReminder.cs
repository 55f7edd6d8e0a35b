using FluentValidation;
using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// An agent schedules a wake-up for itself (its <c>remind</c> verb), or the operator schedules one for an agent
/// (<c>POST /api/reminders</c> with <c>to</c>): a body, when (in_seconds or due_at), and optionally a state file. A body over
/// a message's limit is not refused (as hyperhive did): it is written to <c>reminders/&lt;id&gt;.md</c> in the agent's own
/// state dir, and the reminder carries the start of it and that path (its payload, unless it names one of its own).
/// </summary>
public static class ScheduleReminder
{
    /// <summary>A message's limit: a longer body goes to a file.</summary>
    public const int MaxBodyBytes = 1024;

    /// <summary>The most a body may hold at all (a request line is at most 64 KiB).</summary>
    public const int MaxFileBodyBytes = 32 * 1024;

    /// <summary>How much of a long body the reminder itself keeps.</summary>
    private const int ExcerptChars = 200;
    /// <summary>Ten years: far enough for any plan, near enough that arithmetic never overflows.</summary>
    public const double MaxInSeconds = 10 * 365.25 * 24 * 3600;

    public sealed record Command(string Agent, string? Body, double? InSeconds, DateTimeOffset? DueAt, string? PayloadPath) : IRequest<ReminderView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IStateFileAllowList allowList, IAgentDirectory agents, TimeProvider clock)
        {
            RuleFor(c => c.Agent).ForLiveAgent(agents);
            RuleFor(c => c.Body).BoundedText("body", MaxFileBodyBytes);
            RuleFor(c => c).Must(c => c.InSeconds is null != c.DueAt is null)
                .WithName("when").WithMessage("give exactly one of in_seconds and due_at");
            RuleFor(c => c.InSeconds).InclusiveBetween(0, MaxInSeconds).When(c => c.InSeconds is not null)
                .WithMessage("in_seconds must be between 0 and ten years");
            RuleFor(c => c.DueAt).Must(due => due <= clock.GetUtcNow().AddSeconds(MaxInSeconds)).When(c => c.DueAt is not null)
                .WithMessage("due_at must be within ten years");
            RuleFor(c => c.PayloadPath).OwnOrSharedStateFile(allowList, c => c.Agent);
        }
    }

    internal sealed class Handler(
        StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock, IOptions<RemindersOptions> options, IStateFileWriter files,
        ILogger<ScheduleReminder.Handler> logger)
        : IRequestHandler<Command, ReminderView>
    {
        public Task<ReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO reminders (agent, body, payload_path, due_at, created_at, attempt_count)
                VALUES (@Agent, @Body, @PayloadPath, @DueAt, @CreatedAt, 0)
                RETURNING {ReminderRow.Columns};
                """;
            var now = clock.GetUtcNow();
            var due = command.DueAt?.ToUniversalTime() ?? now.AddSeconds(command.InSeconds!.Value);
            var change = changes.Current;
            // The quota is read inside the change's write transaction (BEGIN IMMEDIATE), so two racing reminders
            // cannot both take the last place; reminder_pending (kept by triggers) makes it one key lookup.
            var max = options.Value.MaxPendingPerAgent;
            if (RemindersSql.PendingFor(change, command.Agent) >= max)
                throw new TooManyException($"{command.Agent} has {max} pending reminders, the most an agent may hold; cancel some or wait for them to fire");
            var row = change.QuerySingle<ReminderRow>(insert, new { command.Agent, command.Body, command.PayloadPath, DueAt = due, CreatedAt = now });
            if (System.Text.Encoding.UTF8.GetByteCount(command.Body!) > MaxBodyBytes) row = MoveBodyToFile(change, row);
            var view = row.View(fileRefs);
            change.Raise(new ReminderScheduled(view, RemindersSql.PendingFor(change, command.Agent)));
            return Task.FromResult(view);
        }

        /// <summary>
        /// Writes the whole body to the agent's <c>reminders/&lt;id&gt;.md</c> (inside the change: if the file cannot be
        /// written, no reminder is made) and keeps its start and the path in the row.
        /// </summary>
        private ReminderRow MoveBodyToFile(StateChange change, ReminderRow row)
        {
            string path;
            var name = $"{row.Id}.md";
            try
            {
                path = files.WriteNew(row.Agent, BodyFiles.Directory, name, row.Body);
            }
            catch (IOException e)
            {
                throw new ConflictException($"the body is over {MaxBodyBytes} bytes, so it goes to a file in your state dir, which failed: {e.Message}");
            }
            // The row and the file stand or fall together: if this change does not commit, the file goes too.
            change.OnRolledBack(() => files.DeleteQuietly(row.Agent, name, logger));
            var excerpt = row.Body.Length > ExcerptChars ? row.Body[..ExcerptChars] + "…" : row.Body;
            return change.QuerySingle<ReminderRow>($"""
                UPDATE reminders SET body = @Body, payload_path = coalesce(payload_path, @Path), body_file = @Name WHERE id = @Id
                RETURNING {ReminderRow.Columns};
                """, new { row.Id, Path = path, Name = name, Body = $"{excerpt}\n\n(the whole reminder, {System.Text.Encoding.UTF8.GetByteCount(row.Body)} bytes: {path})" });
        }
    }
}
