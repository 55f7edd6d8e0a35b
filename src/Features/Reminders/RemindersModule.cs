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

        // The operator schedules a reminder for an agent; it fires as the agent's own would (from `reminder`).
        Post("/", async (req, res) =>
        {
            var body = await req.ReadBodyAsync<RemindBody>();
            var reminder = await mediator.Send(
                new ScheduleReminder.Command(body.To ?? "", body.Body, body.InSeconds, body.DueAt, body.PayloadPath), req.HttpContext.RequestAborted);
            await res.Created($"/api/reminders/{reminder.Id}", reminder);
        });

        Delete("/{id}", async (req, res) =>
        {
            await mediator.Send(new CancelReminder.Command(req.RouteLong("id")), req.HttpContext.RequestAborted);
            await res.NoContent();
        });

        Post("/{id}/retry", async (req, res) =>
            await res.Ok(await mediator.Send(new RetryReminder.Command(req.RouteLong("id")), req.HttpContext.RequestAborted)));
    }

    public sealed record RemindBody(string? To, string? Body, double? InSeconds, DateTimeOffset? DueAt, string? PayloadPath);
}
