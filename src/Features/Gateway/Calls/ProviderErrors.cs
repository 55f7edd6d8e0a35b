using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// The gateway's own answers, in the error format of the provider the agent speaks to, so its client reads them as the
/// provider's: Anthropic's <c>{"type":"error","error":{"type","message"}}</c>, OpenAI's <c>{"error":{"message","type","param","code"}}</c>.
/// </summary>
internal static class ProviderErrors
{
    public static async Task WriteAsync(HttpContext context, string protocol, int status, string message, TimeSpan? retryAfter = null)
    {
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (retryAfter is { } wait) context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString();
        object body = protocol == ProviderProtocols.OpenAi
            ? new { error = new { message, type = OpenAiType(status), param = (string?)null, code = (string?)null } }
            : new { type = "error", error = new { type = AnthropicType(status), message } };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }

    private static string AnthropicType(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    };

    private static string OpenAiType(int status) => status switch
    {
        400 or 404 or 413 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
}
