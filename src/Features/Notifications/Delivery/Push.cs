using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hive.Features.Notifications;

/// <summary>One delivery as it goes out: its id, when it was made, and its items with their links (null when PublicUrl is unset).</summary>
internal sealed record Push(string DeliveryId, DateTimeOffset CreatedAt, IReadOnlyList<PushItem> Items, string? ClickUrl);

internal sealed record PushItem(string Kind, string Subject, string Title, string Body, IReadOnlyList<PushLink> Links);

internal sealed record PushLink(string Label, string Url);

/// <summary>
/// A push as each channel type takes it. ntfy: its JSON publish form (POST to the server's root with <c>topic</c>, title,
/// message, priority, tags, click and up to three <c>http</c> action buttons that POST to the link). A webhook: a JSON
/// body signed with <c>X-Hive-Signature: sha256=&lt;HMAC-SHA256 of the body, hex&gt;</c>, with <c>X-Hive-Delivery</c> and
/// <c>X-Hive-Timestamp</c> (both also inside the signed body). Secrets are read from their files at each send.
/// </summary>
internal static class ChannelRequests
{
    public static HttpRequestMessage Build(ChannelOptions channel, Push push) => channel.Type switch
    {
        ChannelTypes.Ntfy => Ntfy(channel, push),
        ChannelTypes.Webhook => Webhook(channel, push),
        _ => throw new InvalidOperationException($"unknown channel type {channel.Type}"),
    };

    private static HttpRequestMessage Ntfy(ChannelOptions channel, Push push)
    {
        var topicUrl = new Uri(channel.Url);
        var path = topicUrl.AbsolutePath.TrimEnd('/');
        var topic = path[(path.LastIndexOf('/') + 1)..];
        var root = new Uri(topicUrl, path[..(path.LastIndexOf('/') + 1)]);
        var one = push.Items.Count == 1 ? push.Items[0] : null;
        var body = new JsonObject
        {
            ["topic"] = topic,
            ["title"] = one?.Title ?? $"{push.Items.Count} things need you",
            ["message"] = one?.Body ?? string.Join("\n", push.Items.Select(i => $"• {i.Title}: {i.Body}")),
            ["priority"] = push.Items.Any(i => i.Kind is NotificationKinds.Halted or NotificationKinds.Failed) ? 5 : 4,
            ["tags"] = new JsonArray([.. push.Items.Select(i => (JsonNode?)JsonValue.Create(i.Kind)).DistinctBy(n => n!.ToString())]),
        };
        if (push.ClickUrl is { } click) body["click"] = click;
        if (one is { Links.Count: > 0 })
            body["actions"] = new JsonArray([.. one.Links.Take(PushActions.Max).Select(l => (JsonNode?)new JsonObject
            {
                ["action"] = "http", ["label"] = l.Label, ["url"] = l.Url, ["method"] = "POST", ["clear"] = true,
            })]);
        var request = new HttpRequestMessage(HttpMethod.Post, root) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Hive-Delivery", push.DeliveryId);
        if (channel.TokenFile is { } file) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ReadSecret(file));
        return request;
    }

    private static HttpRequestMessage Webhook(ChannelOptions channel, Push push)
    {
        var timestamp = push.CreatedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["delivery_id"] = push.DeliveryId,
            ["timestamp"] = timestamp,
            ["click"] = push.ClickUrl,
            ["items"] = new JsonArray([.. push.Items.Select(i => (JsonNode?)new JsonObject
            {
                ["kind"] = i.Kind, ["subject"] = i.Subject, ["title"] = i.Title, ["body"] = i.Body,
                ["actions"] = new JsonArray([.. i.Links.Select(l => (JsonNode?)new JsonObject { ["label"] = l.Label, ["url"] = l.Url })]),
            })]),
        });
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(ReadSecret(channel.SecretFile!)), body));
        var request = new HttpRequestMessage(HttpMethod.Post, channel.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Hive-Delivery", push.DeliveryId);
        request.Headers.Add("X-Hive-Timestamp", timestamp);
        request.Headers.Add("X-Hive-Signature", "sha256=" + signature);
        return request;
    }

    /// <summary>A secret file's content; its failure names the file, never what is in it.</summary>
    private static string ReadSecret(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PushFailedException($"cannot read {path}: {e.GetType().Name}");
        }
    }
}

/// <summary>A push that did not get through, with a reason fit for the log and the dashboard (no secret, no topic URL).</summary>
internal sealed class PushFailedException(string message) : Exception(message);
