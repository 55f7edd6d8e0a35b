using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

/// <summary>What the fake model APIs share: a Kestrel of their own on loopback, and a request read as they record it.</summary>
public static class FakeHttpApi
{
    /// <summary>Starts <paramref name="handler"/> on 127.0.0.1:<paramref name="port"/> (0: any free port); its base URL without a trailing slash.</summary>
    public static async Task<(WebApplication App, string BaseUrl)> StartAsync(RequestDelegate handler, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return (app, app.Urls.Single().TrimEnd('/'));
    }

    /// <summary>The request's body (as text, and as JSON when it is) and its headers, those in <paramref name="secretHeaders"/> redacted.</summary>
    public static async Task<(string Raw, JsonElement? Body, Dictionary<string, string> Headers)> ReadAsync(HttpContext context, ISet<string> secretHeaders)
    {
        var http = context.Request;
        var raw = await new StreamReader(http.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted);
        JsonElement? body = null;
        if (raw.Length > 0)
        {
            try { body = JsonDocument.Parse(raw).RootElement.Clone(); } catch (JsonException) { }
        }
        var headers = http.Headers.ToDictionary(h => h.Key, h => secretHeaders.Contains(h.Key) ? "(redacted)" : h.Value.ToString(),
            StringComparer.OrdinalIgnoreCase);
        return (raw, body, headers);
    }
}
