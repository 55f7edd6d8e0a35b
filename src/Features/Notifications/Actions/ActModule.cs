using System.Net;
using Carter;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Notifications;

/// <summary>
/// <c>/act/{token}</c>, outside sign-in (the token is the one thing it allows): <c>GET</c> a small confirm page whose
/// button POSTs back; <c>POST</c> acts (ntfy's <c>http</c> action posts here directly). A browser's form post gets a page,
/// anything else JSON or problem+json. The page's style is the file <c>/act.css</c> (the host's policy allows no inline style).
/// </summary>
public sealed class ActModule : CarterModule
{
    public ActModule(IMediator mediator) : base("/act")
    {
        Get("/{token}", async (req, res) =>
        {
            try
            {
                var link = await mediator.Send(new ActOnLink.Look(Token(req)), req.HttpContext.RequestAborted);
                await PageAsync(res, 200, "Confirm", $"Tap to {link.What}.", $"<form method=\"post\"><button type=\"submit\">{Html(link.Label)}</button></form>");
            }
            catch (HiveException e)
            {
                await PageAsync(res, e.Status, "Not done", e.Message, "");
            }
        });

        Post("/{token}", async (req, res) =>
        {
            var fromPage = req.HasFormContentType;
            try
            {
                var link = await mediator.Send(new ActOnLink.Act(Token(req)), req.HttpContext.RequestAborted);
                if (fromPage) await PageAsync(res, 200, "Done", $"Done: {link.What}.", "");
                else await res.WriteAsJsonAsync(new { ok = true, subject = link.Subject, action = link.Action, done = link.What }, req.HttpContext.RequestAborted);
            }
            catch (HiveException e) when (fromPage)
            {
                await PageAsync(res, e.Status, "Not done", e.Message, "");
            }
        });
    }

    private static string Token(HttpRequest req) => req.RouteValues["token"]?.ToString() ?? "";

    private static Task PageAsync(HttpResponse res, int status, string title, string text, string form)
    {
        res.StatusCode = status;
        res.ContentType = "text/html; charset=utf-8";
        return res.WriteAsync($$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Hive: {{Html(title)}}</title>
            <link rel="stylesheet" href="/act.css">
            </head><body><h1>{{Html(title)}}</h1><p>{{Html(text)}}</p>{{form}}</body></html>
            """);
    }

    private static string Html(string text) => WebUtility.HtmlEncode(text);
}
