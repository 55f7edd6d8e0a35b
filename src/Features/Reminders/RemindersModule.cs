using Carter;
using Hive.Shared.Http;
using MediatR;

namespace Hive.Features.Reminders;

/// <summary>The operator's reminder routes: routing only.</summary>
public sealed class RemindersModule : CarterModule
{
    public RemindersModule(IMediator mediator) : base("/api/reminders")
    {
        Get("/", async (req, res) =>
            await res.Ok(await mediator.Send(
                new ListReminders.Query(req.QueryLong("before"), (int)Math.Min(req.QueryLong("limit") ?? ListReminders.DefaultLimit, int.MaxValue)),
                req.HttpContext.RequestAborted)));

        // The operator schedules a reminder for an agent; it fires as the agent's own would (from `reminder`). With cron, a
        // recurring one.
        Post("/", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<RemindBody>();
            if (body.IsRecurring)
            {
                var recurring = await mediator.Send(new ScheduleRecurringReminder.Command(
                    body.To ?? "", body.Body, body.Cron, body.TimeZone, body.CatchUp, body.Overlap, body.PayloadPath, body.InSeconds, body.DueAt),
                    req.HttpContext.RequestAborted);
                await res.Created($"/api/reminders/recurring/{recurring.Id}", recurring);
                return;
            }
            var reminder = await mediator.Send(
                new ScheduleReminder.Command(body.To ?? "", body.Body, body.InSeconds, body.DueAt, body.PayloadPath), req.HttpContext.RequestAborted);
            await res.Created($"/api/reminders/{reminder.Id}", reminder);
        });

        Get("/recurring", async (req, res) =>
            await res.Ok(await mediator.Send(new ListRecurringReminders.Query(req.Query["agent"].FirstOrDefault()), req.HttpContext.RequestAborted)));

        Get("/recurring/{id}", async (req, res) =>
            await res.Ok(await mediator.Send(new ListRecurringReminders.One(req.RouteLong("id")), req.HttpContext.RequestAborted)));

        Post("/recurring/{id}/pause", async (req, res) =>
            await res.Ok(await mediator.Send(new PauseRecurringReminder.Command(req.RouteLong("id"), Paused: true), req.HttpContext.RequestAborted)));

        Post("/recurring/{id}/resume", async (req, res) =>
            await res.Ok(await mediator.Send(new PauseRecurringReminder.Command(req.RouteLong("id"), Paused: false), req.HttpContext.RequestAborted)));

        Delete("/recurring/{id}", async (req, res) =>
        {
            await mediator.Send(new CancelRecurringReminder.Command(req.RouteLong("id")), req.HttpContext.RequestAborted);
            await res.NoContent();
        });

        Delete("/{id}", async (req, res) =>
        {
            await mediator.Send(new CancelReminder.Command(req.RouteLong("id")), req.HttpContext.RequestAborted);
            await res.NoContent();
        });

        Post("/{id}/retry", async (req, res) =>
            await res.Ok(await mediator.Send(new RetryReminder.Command(req.RouteLong("id")), req.HttpContext.RequestAborted)));
    }

    public sealed record RemindBody(
        string? To, string? Body, double? InSeconds, DateTimeOffset? DueAt, string? PayloadPath, string? Cron, string? TimeZone, string? CatchUp, string? Overlap)
    {
        public bool IsRecurring => ScheduleRecurringReminder.IsAsked(Cron, TimeZone, CatchUp, Overlap);
    }
}
