using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// The gateway's own answers, in the error format of the provider the agent speaks to, so its client reads them as the
/// provider's: Anthropic's <c>{"type":"error","error":{"type","message"}}</c>, OpenAI's <c>{"error":{"message","type","param","code"}}</c>,
/// Gemini's <c>{"error":{"code","message","status"}}</c> (a wait to retry after as a <c>google.rpc.RetryInfo</c> in its details).
/// </summary>
internal static class ProviderErrors
{
    public static async Task WriteAsync(HttpContext context, string protocol, int status, string message, TimeSpan? retryAfter = null)
    {
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var seconds = retryAfter is { } wait ? Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)) : (long?)null;
        if (seconds is { } s) context.Response.Headers.RetryAfter = s.ToString();
        object body = protocol switch
        {
            ProviderProtocols.OpenAi => new { error = new { message, type = OpenAiType(status), param = (string?)null, code = (string?)null } },
            ProviderProtocols.Gemini => new { error = GeminiError(status, message, seconds) },
            _ => new { type = "error", error = new { type = AnthropicType(status), message } },
        };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }

    /// <summary>
    /// The status of "every slot stayed busy": Anthropic's 529 (overloaded; OpenAI's clients retry it as any 5xx), and
    /// Gemini's 503 UNAVAILABLE, its own word for an overloaded model.
    /// </summary>
    public static int Busy(string protocol) => protocol == ProviderProtocols.Gemini ? 503 : 529;

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

    private static Dictionary<string, object> GeminiError(int status, string message, long? retryAfterSeconds)
    {
        var error = new Dictionary<string, object> { ["code"] = status, ["message"] = message, ["status"] = GeminiStatus(status) };
        if (retryAfterSeconds is { } s)
            error["details"] = new[] { new Dictionary<string, string> { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = $"{s}s" } };
        return error;
    }

    /// <summary>The canonical status Google's APIs name beside the HTTP one.</summary>
    private static string GeminiStatus(int status) => status switch
    {
        400 or 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        502 or 503 or 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
}
