using FluentValidation;
using Hive.Contracts.Reminders;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Extensions.Options;

namespace Hive.Features.Reminders;

/// <summary>
/// An agent (its <c>remind</c> verb with <c>cron</c>) or the operator (<c>POST /api/reminders</c> with <c>cron</c>) sets
/// up a recurring reminder: a body delivered as a reminder at every run of a five-field cron expression read in an IANA
/// time zone (UTC by default). <c>catch_up</c> says what becomes of runs missed while the host was down (<c>skip</c>, the
/// default, or <c>one</c> for all of them); <c>overlap</c> whether a run is made while the last one's message is still
/// unacknowledged (<c>skip_if_pending</c>, the default, or <c>always</c>).
/// </summary>
public static class ScheduleRecurringReminder
{
    /// <summary>Any recurring field makes a <c>remind</c> a recurring one (whose validation then says what else it needs).</summary>
    public static bool IsAsked(string? cron, string? timeZone, string? catchUp, string? overlap) =>
        cron is not null || timeZone is not null || catchUp is not null || overlap is not null;

    public sealed record Command(
        string Agent, string? Body, string? Cron, string? TimeZone, string? CatchUp, string? Overlap, string? PayloadPath,
        double? InSeconds = null, DateTimeOffset? DueAt = null) : IRequest<RecurringReminderView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IStateFileAllowList allowList, IAgentDirectory agents)
        {
            RuleFor(c => c.Agent).ForLiveAgent(agents);
            // No long-body file as one-off reminders have: a run repeats its body, so a long text belongs in a state file.
            RuleFor(c => c.Body).BoundedText("body", ScheduleReminder.MaxBodyBytes);
            RuleFor(c => c.Cron).Cascade(CascadeMode.Stop)
                .NotEmpty().WithMessage("cron is required with time_zone, catch_up or overlap")
                .Custom((cron, context) =>
                {
                    if (CronSchedule.TryParse(cron!, context.InstanceToValidate.TimeZone ?? "UTC", out var error) is null) context.AddFailure("cron", error!);
                });
            RuleFor(c => c).Must(c => c.InSeconds is null && c.DueAt is null)
                .WithName("when").WithMessage("give cron or one of in_seconds and due_at, not both");
            RuleFor(c => c.CatchUp).Must(p => CatchUpPolicies.All.Contains(p)).When(c => c.CatchUp is not null)
                .WithMessage($"catch_up must be one of {string.Join(", ", CatchUpPolicies.All)}");
            RuleFor(c => c.Overlap).Must(p => OverlapPolicies.All.Contains(p)).When(c => c.Overlap is not null)
                .WithMessage($"overlap must be one of {string.Join(", ", OverlapPolicies.All)}");
            RuleFor(c => c.PayloadPath).OwnOrSharedStateFile(allowList, c => c.Agent);
        }
    }

    internal sealed class Handler(StateChanges changes, IFileRefScanner fileRefs, TimeProvider clock, IOptions<RemindersOptions> options)
        : IRequestHandler<Command, RecurringReminderView>
    {
        public Task<RecurringReminderView> Handle(Command command, CancellationToken cancellationToken)
        {
            var zone = command.TimeZone ?? "UTC";
            var schedule = CronSchedule.TryParse(command.Cron!, zone, out _)!; // the validator parsed it
            var now = clock.GetUtcNow();
            var first = schedule.Next(now) ?? throw new BadRequestException($"cron '{command.Cron}' never fires");
            var change = changes.Current;
            var max = options.Value.MaxRecurringPerAgent;
            if (change.QuerySingle<long>("SELECT count(*) FROM recurring_reminders WHERE agent = @Agent", command) >= max)
                throw new TooManyException($"{command.Agent} has {max} recurring reminders, the most an agent may hold; cancel one first");
            var row = change.QuerySingle<RecurringRow>($"""
                INSERT INTO recurring_reminders (agent, body, payload_path, cron, time_zone, catch_up, overlap, next_due_at, created_at)
                VALUES (@Agent, @Body, @PayloadPath, @Cron, @zone, @catchUp, @overlap, @first, @now)
                RETURNING {RecurringRow.Columns}
                """, new
            {
                command.Agent, command.Body, command.PayloadPath, Cron = command.Cron!.Trim(), zone,
                catchUp = command.CatchUp ?? CatchUpPolicies.Skip, overlap = command.Overlap ?? OverlapPolicies.SkipIfPending, first, now,
            });
            var view = RecurringReminders.View(change, row, fileRefs, now);
            change.Raise(new RecurringReminderChanged(view));
            return Task.FromResult(view);
        }
    }
}
