using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hive.Contracts.Json;

/// <summary>The one JSON configuration of the wire: socket, HTTP and SSE alike (snake_case, ms-precision UTC times).</summary>
public static class HiveJson
{
    /// <summary>The wire's options, read-only from the start (so their type metadata can be asked for before any use).</summary>
    public static JsonSerializerOptions Options { get; } = ReadOnly(Apply(new JsonSerializerOptions(JsonSerializerDefaults.Web)));

    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static JsonSerializerOptions Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        // A string where a number belongs is a client error, not something to guess at.
        options.NumberHandling = JsonNumberHandling.Strict;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        if (!options.Converters.Any(c => c is UtcTimestampConverter))
            options.Converters.Add(new UtcTimestampConverter());
        return options;
    }
}

/// <summary>Timestamps on the wire and in the database: ISO-8601 UTC with milliseconds, e.g. 2026-11-21T21:00:00.123Z.</summary>
public static class UtcTimestamp
{
    private const string Pattern = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString(Pattern, CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
    ];

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? throw new JsonException("a timestamp must be a string");
        // ISO-8601 with a date, a time and an explicit zone only: "12:00" or "tomorrow" must not become a guess.
        if (!DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
            throw new JsonException("not an ISO-8601 timestamp with a zone (e.g. 2026-11-21T21:00:00.000Z)");
        return value;
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(UtcTimestamp.Format(value));
}
