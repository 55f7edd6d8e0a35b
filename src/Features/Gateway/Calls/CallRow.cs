using Hive.Contracts.Gateway;

namespace Hive.Features.Gateway.Calls;

/// <summary>The row as stored; <see cref="View"/> is what leaves the slice.</summary>
internal sealed class CallRow
{
    public const string Columns = """
        id AS Id, agent AS Agent, turn_id AS TurnId, provider AS Provider, model AS Model, path AS Path, streamed AS Streamed,
        state AS State, status AS Status, input_tokens AS InputTokens, output_tokens AS OutputTokens, cache_read_tokens AS CacheReadTokens,
        cache_write_tokens AS CacheWriteTokens, cost_usd AS CostUsd, first_byte_ms AS FirstByteMs, duration_ms AS DurationMs,
        bytes_up AS BytesUp, bytes_down AS BytesDown, error AS Error, request_body AS RequestBody, response_body AS ResponseBody,
        started_at AS StartedAt, ended_at AS EndedAt
        """;

    public long Id { get; init; }
    public string Agent { get; init; } = "";
    public long? TurnId { get; init; }
    public string Provider { get; init; } = "";
    public string? Model { get; init; }
    public string Path { get; init; } = "";
    public bool Streamed { get; init; }
    public string State { get; init; } = "";
    public long? Status { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public long CacheReadTokens { get; init; }
    public long CacheWriteTokens { get; init; }
    public double? CostUsd { get; init; }
    public double? FirstByteMs { get; init; }
    public double? DurationMs { get; init; }
    public long BytesUp { get; init; }
    public long BytesDown { get; init; }
    public string? Error { get; init; }
    public string? RequestBody { get; init; }
    public string? ResponseBody { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The protocol its bodies speak, by the path it was made on.</summary>
    public string Protocol => ModelCallRequest.ProtocolOf(Path);

    public CallView View() => new(Id, Agent, TurnId, Provider, Model, Path, Streamed, State, Status is { } s ? (int)s : null,
        InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens, CostUsd, FirstByteMs, DurationMs, BytesUp, BytesDown, Error,
        RequestBody is not null, StartedAt, EndedAt);
}
