using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Shared.Errors;

namespace Hive.Shared.Socket;

/// <summary>The socket's reply objects: <c>{"ok":true,...}</c> from a verb's result, <c>{"ok":false,"error","code"}</c> from an error.</summary>
internal static class SocketReplies
{
    private static readonly byte[] OkPrefix = "{\"ok\":true"u8.ToArray();

    /// <summary>
    /// <c>{"ok":true, ...the result's properties}</c>: the result is serialized once and spliced in after <c>"ok"</c>
    /// (no intermediate JsonDocument: this runs for every request).
    /// </summary>
    public static byte[] Success(object? result)
    {
        if (result is null) return [.. OkPrefix, (byte)'}'];
        var fields = JsonSerializer.SerializeToUtf8Bytes(result, result.GetType(), HiveJson.Options);
        if (fields is not [(byte)'{', .., (byte)'}']) throw new InvalidOperationException("a verb's reply must be a JSON object");
        if (fields.Length == 2) return [.. OkPrefix, (byte)'}'];
        var reply = new byte[OkPrefix.Length + fields.Length]; // '{' of the fields becomes the ','
        OkPrefix.CopyTo(reply, 0);
        reply[OkPrefix.Length] = (byte)',';
        fields.AsSpan(1).CopyTo(reply.AsSpan(OkPrefix.Length + 1));
        return reply;
    }

    public static byte[] Failure(Exception e) => Failure(HiveError.From(e));

    public static byte[] Failure(HiveError error) =>
        JsonSerializer.SerializeToUtf8Bytes(new SocketFailure(false, error.Message, error.Code, error.Errors), HiveJson.Options);

    private sealed record SocketFailure(
        bool Ok, string Error, string Code,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IDictionary<string, string[]>? Errors);

    public static bool IsSuccess(byte[] reply) => reply.AsSpan().StartsWith(OkPrefix);
}
