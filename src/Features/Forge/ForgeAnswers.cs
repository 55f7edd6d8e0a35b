using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Hive.Features.Forge;

/// <summary>
/// Reading the forge's answers for <see cref="ForgejoClient"/>: the status expected or a failure in a sentence (with the
/// forge's own message, never a credential of the call in it), the JSON, a user.
/// </summary>
internal static class ForgeAnswers
{
    public static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken ct, params string?[] secrets)
    {
        if (response.StatusCode != expected) throw await FailureAsync(response, what, ct, secrets);
    }

    /// <summary>"creating user bob: 422 Unprocessable Entity (name is reserved)": the status and Forgejo's own message, cut short.</summary>
    public static async Task<ForgeException> FailureAsync(HttpResponseMessage response, string what, CancellationToken ct, params string?[] secrets)
    {
        string? message = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var m))
                message = m.GetString();
        }
        catch (JsonException)
        {
        }
        // The forge's words go to the log, the page and /api/forge: never with a credential of this call in them.
        foreach (var secret in secrets.Where(x => x is { Length: > 0 })) message = message?.Replace(secret!, "[secret]", StringComparison.Ordinal);
        var detail = message is { Length: > 0 } ? $" ({(message.Length > 200 ? message[..200] + "…" : message)})" : "";
        return new ForgeException($"{what}: the forge answered {(int)response.StatusCode} {response.ReasonPhrase}{detail}", (int)response.StatusCode);
    }

    /// <summary>The answer's JSON; a page that is not JSON (a proxy's error page, say) is the forge's failure, not the host's.</summary>
    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new ForgeException($"{what}: the forge's answer is not the JSON expected");
        }
    }

    public static ForgeUser ReadUser(JsonElement user, string what) =>
        user.ValueKind == JsonValueKind.Object && user.TryGetProperty("login", out var login) && login.ValueKind == JsonValueKind.String
            ? new(login.GetString()!,
                user.TryGetProperty("email", out var email) && email.ValueKind == JsonValueKind.String ? email.GetString() : null,
                user.TryGetProperty("is_admin", out var admin) && admin.ValueKind == JsonValueKind.True)
            : throw new ForgeException($"{what}: the forge's answer has no user in it");
}
