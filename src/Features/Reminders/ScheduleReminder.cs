using Dapper;
using FluentValidation;
using Hive.Features.StateFiles;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>An agent schedules a wake-up for itself: a body, when (in_seconds or due_at), and optionally a state file.</summary>
public static class ScheduleReminder
{
    public const int MaxBodyBytes = 1024;
    /// <summary>Ten years: far enough for any plan, near enough that arithmetic never overflows.</summary>
    public const double MaxInSeconds = 10 * 365.25 * 24 * 3600;

    public sealed record Command(string Agent, string? Body, double? InSeconds, DateTimeOffset? DueAt, string? PayloadPath) : IRequest<ReminderView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IStateFileAllowList allowList, TimeProvider clock)
        {
            RuleFor(c => c.Body).BoundedText("body", MaxBodyBytes);
            RuleFor(c => c).Must(c => c.InSeconds is null != c.DueAt is null)
                .WithName("when").WithMessage("give exactly one of in_seconds and due_at");
            RuleFor(c => c.InSeconds).InclusiveBetween(0, MaxInSeconds).When(c => c.InSeconds is not null)
                .WithMessage("in_seconds must be between 0 and ten years");
            RuleFor(c => c.DueAt).Must(due => due <= clock.GetUtcNow().AddSeconds(MaxInSeconds)).When(c => c.DueAt is not null)
                .WithMessage("due_at must be within ten years");
            // An agent may name its own state files and shared ones; one answer for "missing" and "not yours", so
            // a reminder cannot be used to probe another agent's state dir.
            RuleFor(c => c.PayloadPath)
                .Must((c, path) => allowList.Accepts(path, c.Agent)).When(c => c.PayloadPath is not null)
                .WithMessage("payload_path must name an existing state file of your own or in /shared").WithErrorCode(ErrorCodes.Forbidden);
        }
    }

    internal sealed class Handler(IDb db, IMediator mediator, StateChangeGate gate, IFileRefScanner fileRefs, TimeProvider clock)
        : IRequestHandler<Command, ReminderView>
    {
        public async Task<ReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO reminders (agent, body, payload_path, due_at, created_at, attempt_count)
                VALUES (@Agent, @Body, @PayloadPath, @DueAt, @CreatedAt, 0)
                RETURNING {ReminderRow.Columns};
                """;
            var now = clock.GetUtcNow();
            var due = command.DueAt?.ToUniversalTime() ?? now.AddSeconds(command.InSeconds!.Value);
            using (await gate.EnterChangeAsync(cancellationToken))
            {
                ReminderRow row;
                long pending;
                using (var connection = db.Open())
                using (var transaction = connection.BeginTransaction())
                {
                    row = connection.Query<ReminderRow>(insert,
                        new { command.Agent, command.Body, command.PayloadPath, DueAt = due, CreatedAt = now }, transaction).Single();
                    pending = RemindersSql.PendingFor(connection, command.Agent, transaction);
                    transaction.Commit();
                }
                var view = row.View(fileRefs);
                await mediator.Publish(new ReminderScheduled(view, pending), CancellationToken.None);
                return view;
            }
        }
    }
}

/// <summary>How many reminders an agent has waiting (failed ones included).</summary>
public static class CountPendingReminders
{
    public sealed record Query(string Agent) : IRequest<long>;

    internal sealed class Handler(IDb db) : IRequestHandler<Query, long>
    {
        public Task<long> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            return Task.FromResult(RemindersSql.PendingFor(connection, query.Agent));
        }
    }
}
