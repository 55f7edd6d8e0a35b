using System.Text.Json;
using Hive.Contracts.Json;
using Hive.Shared.Agents;

namespace Hive.Features.Constellation;

/// <summary>
/// What a hive tells the others every <c>HeartbeatSeconds</c>, on the fanout exchange <see cref="Exchange"/>: who it is,
/// where its dashboard is, its agents by state, its outbox depth and its inbox lag (ready messages on its queue).
/// </summary>
/// <param name="SentAt">Taken before anything the beat reports was read: all it says was so at that moment or later.</param>
/// <param name="Outbound">
/// Per hive heard from, how far this hive has numbered its mail to it and the lowest number still in its outbox: what lets
/// a receiver holding mail ahead of a gap tell a gap still on its way from one lost (<see cref="ReceiveFromHive"/>). Null
/// when there are more such hives than a beat carries.
/// </param>
/// <param name="Missing">
/// Per hive this one holds mail from ahead of a gap, the numbers missing: the sender publishes them again if it had them
/// confirmed long enough ago (a broker has confirmed mail it then lost: RabbitMQ 3.10 after a restart left a queue without a
/// leader). Null when none is held.
/// </param>
internal sealed record Heartbeat(
    string Hive, string? PublicUrl, double HeartbeatSeconds, DateTimeOffset SentAt, int Agents, IReadOnlyDictionary<string, int> States,
    long OutboxDepth, DateTimeOffset? OldestUnsentAt, long? InboxLag, long DeadLetters, IReadOnlyDictionary<string, OutboundMail>? Outbound = null,
    IReadOnlyDictionary<string, MissingMail>? Missing = null)
{
    public const string Exchange = "hive.heartbeats";
    public const int MaxBytes = 32 * 1024;
    public const int MaxOutbound = 256;
    private const int MaxStates = 16;

    /// <summary>The queue each hive hears the beats on: its own, beside its mail queue (a hive name has no dot).</summary>
    public static string QueueOf(string hive) => hive + ".heartbeats";

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, HiveJson.Options);

    /// <summary>The beat, or null when the bytes are not a well-formed one (another hive is untrusted: everything is checked).</summary>
    public static Heartbeat? Parse(ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBytes) return null;
        Heartbeat? beat;
        try
        {
            beat = JsonSerializer.Deserialize<Heartbeat>(body, HiveJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
        return beat is not null && AgentNames.IsWellFormed(beat.Hive) && IsDashboardLink(beat.PublicUrl)
               && beat.HeartbeatSeconds is >= 0.1 and <= 3600 && beat.Agents >= 0 && beat.OutboxDepth >= 0 && beat.InboxLag is null or >= 0
               && beat.DeadLetters >= 0 && beat.States is { Count: <= MaxStates } states
               && states.All(s => s.Key.Length is > 0 and <= 32 && s.Value >= 0)
               && (beat.Outbound is null || (beat.Outbound.Count <= MaxOutbound
                   && beat.Outbound.All(o => AgentNames.IsWellFormed(o.Key) && o.Value is { Assigned: >= 0 } pair && (pair.Unsent is null || (pair.Unsent >= 1 && pair.Unsent <= pair.Assigned))))
               && (beat.Missing is null || (beat.Missing.Count <= MaxOutbound
                   && beat.Missing.All(m => AgentNames.IsWellFormed(m.Key) && m.Value is { From: >= 1 } gap && gap.Through >= gap.From))))
            ? beat
            : null;
    }

    /// <summary>Only an absolute http(s) URL becomes a link on the dashboard (never <c>javascript:</c> or a relative path).</summary>
    public static bool IsDashboardLink(string? url) =>
        url is null || (url.Length <= 512 && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https");
}

/// <param name="Assigned">The last number given to mail for that hive.</param>
/// <param name="Unsent">The lowest number still in the outbox (not yet confirmed by the broker), or null when all has left.</param>
internal sealed record OutboundMail(long Assigned, long? Unsent);

/// <param name="From">The first number missing (the next this hive expects from that hive).</param>
/// <param name="Through">The last one missing (the one before the first it holds).</param>
internal sealed record MissingMail(long From, long Through);
