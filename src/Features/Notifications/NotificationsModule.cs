using Carter;
using Hive.Shared.Http;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Notifications;

/// <summary>The operator's view of the push channels, and a test push. Routing only.</summary>
public sealed class NotificationsModule : CarterModule
{
    public NotificationsModule(IMediator mediator) : base("/api/notifications")
    {
        Get("/", async (req, res) => await res.Ok(await mediator.Send(new ReadNotifications.Query(), req.HttpContext.RequestAborted)));

        Post("/channels/{name}/test", async (req, res) =>
        {
            var id = await mediator.Send(new SendTestPush.Command(req.RouteValues["name"]?.ToString() ?? ""), req.HttpContext.RequestAborted);
            res.StatusCode = StatusCodes.Status202Accepted;
            await res.WriteAsJsonAsync(new { item_id = id }, req.HttpContext.RequestAborted);
        });
    }
}
