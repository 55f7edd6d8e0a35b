using System.Buffers;
using System.Text.Json;

namespace Hive.Shared.Json;

/// <summary>
/// Parsing what callers send: one JSON value, nothing after it, and no duplicate property names at any depth
/// (<c>{"to":"bob","to":"operator"}</c> must not quietly become a message to the operator). Malformed input throws
/// <see cref="JsonException"/>, which the socket and HTTP both answer as <c>bad_request</c>.
/// </summary>
public static class StrictJson
{
    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    /// <summary>One socket line; trailing data after the value is refused by the parser itself.</summary>
    public static JsonDocument Parse(ReadOnlySequence<byte> utf8) => JsonDocument.Parse(utf8, DocumentOptions);

    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8) => JsonDocument.Parse(utf8, DocumentOptions);

    /// <summary>
    /// What was wrong, in words a caller can act on: the duplicated key, or the byte where parsing stopped. Never the
    /// parser's own message, which quotes the input back.
    /// </summary>
    public static string Reason(JsonException e)
    {
        const string duplicate = "Duplicate property '";
        if (e.Message.StartsWith(duplicate, StringComparison.Ordinal))
        {
            var name = e.Message[duplicate.Length..];
            name = name[..Math.Max(0, name.IndexOf('\'', StringComparison.Ordinal))];
            return name.Length is > 0 and <= 64 ? $"duplicate key '{name}'" : "a duplicate key";
        }
        return e.BytePositionInLine is { } position ? $"malformed at byte {position}" : "malformed";
    }
}
