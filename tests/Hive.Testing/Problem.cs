using System.Text.Json;
using Hive.Contracts.Json;

namespace Hive.Testing;

/// <summary>A refusal over HTTP: the problem+json fields the tests read (every one the host writes carries a <c>code</c>).</summary>
public sealed record Problem(string? Title, string? Detail, int? Status, string? Code)
{
    /// <summary>The problem in a response's body, as <see cref="JsonElement"/> read it.</summary>
    public static Problem Of(JsonElement body) => body.Deserialize<Problem>(HiveJson.Options)!;
}
