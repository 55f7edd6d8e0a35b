using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Shared.Errors;
using Hive.Shared.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Hive.Shared.Http;

/// <summary>Binding and writing helpers for Carter routes, all on the one wire JSON configuration.</summary>
public static class HttpExtensions
{
    /// <summary>The largest JSON body an operator route reads; bodies the hive stores are far smaller.</summary>
    public const long MaxJsonBody = 64 * 1024;

    /// <summary>Reads a JSON body, or throws: 400 when it is missing, not JSON or malformed, 413 when oversized.</summary>
    public static async Task<T> ReadBodyAsync<T>(this HttpRequest request) where T : class
    {
        if (!request.HasJsonContentType())
            throw new BadRequestException("the body must be JSON (Content-Type: application/json)");
        if (request.ContentLength > MaxJsonBody)
            throw new TooLargeException($"the body is over {MaxJsonBody} bytes");
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = MaxJsonBody;

        T? value;
        try
        {
            // Buffered (at most MaxJsonBody) and parsed strictly first, so a duplicate key at any depth is a 400.
            using var document = await JsonDocument.ParseAsync(request.Body, StrictJson.DocumentOptions, request.HttpContext.RequestAborted);
            value = document.Deserialize<T>(HiveJson.Options);
        }
        catch (JsonException e)
        {
            throw new BadRequestException(e.Path is { Length: > 0 } path ? $"the body has a bad value at {path}" : $"the body is not valid JSON: {StrictJson.Reason(e)}");
        }
        return value ?? throw new BadRequestException("the body must be a JSON object");
    }

    /// <summary>An optional integer query parameter; a present but malformed one is a 400, never silently ignored.</summary>
    public static long? QueryLong(this HttpRequest request, string name)
    {
        var raw = request.Query[name];
        if (raw.Count == 0 || string.IsNullOrEmpty(raw[0])) return null;
        if (raw.Count > 1 || !long.TryParse(raw[0], System.Globalization.NumberStyles.None, null, out var value))
            throw new BadRequestException($"query parameter '{name}' must be one non-negative integer");
        return value;
    }

    /// <summary>An optional true/false query parameter (absent: false); anything else is a 400, never silently false.</summary>
    public static bool QueryFlag(this HttpRequest request, string name) => request.Query[name].FirstOrDefault() switch
    {
        null or "false" or "0" => false,
        "true" or "1" => true,
        _ => throw new BadRequestException($"{name} is true or false"),
    };

    /// <summary>
    /// An id from the route, digits only: routes take <c>{id}</c> without a <c>:long</c> constraint so that a malformed
    /// id (<c>abc</c>, <c>-1</c>, <c>1e3</c>, <c>9223372036854775808</c>) is a 400 bad_request, not routing's bare 404.
    /// </summary>
    public static long RouteLong(this HttpRequest request, string name) =>
        long.TryParse(request.RouteValues[name]?.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new BadRequestException($"'{name}' must be a non-negative integer id");

    public static Task Ok(this HttpResponse response, object? value) => Write(response, 200, value);

    public static Task Created(this HttpResponse response, string location, object? value)
    {
        response.Headers.Location = location;
        return Write(response, 201, value);
    }

    public static Task NoContent(this HttpResponse response)
    {
        response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private static Task Write(HttpResponse response, int status, object? value)
    {
        response.StatusCode = status;
        return response.WriteAsJsonAsync(value, value?.GetType() ?? typeof(object), HiveJson.Options, "application/json; charset=utf-8",
            response.HttpContext.RequestAborted);
    }
}
