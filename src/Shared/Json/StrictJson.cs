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
}
