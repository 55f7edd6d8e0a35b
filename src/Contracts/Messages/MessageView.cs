using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hive.Contracts.Messages;

/// <summary>
/// A message on the wire (socket, HTTP and SSE alike; the payload of <c>sent</c>, <c>delivered</c> and
/// <c>message_undeliverable</c>). System messages carry extra fields from the feature that sent them
/// (<c>reminder_id</c>, <c>payload_refs</c>, <c>question_id</c>, ...), flattened into the same object.
/// </summary>
public sealed record MessageView(
    long Id,
    string From,
    string To,
    string Kind,
    string Body,
    DateTimeOffset SentAt,
    DateTimeOffset? DeliveredAt,
    IReadOnlyList<string> FileRefs,
    int DeliveryCount = 0,
    DateTimeOffset? UndeliverableAt = null,
    long? InReplyTo = null,
    long? BroadcastId = null)
{
    /// <summary>Handed out before and not acknowledged: the agent may have seen it already (dedupe by id).</summary>
    public bool Redelivered => DeliveryCount > 1;

    /// <summary>The sending feature's extra fields, written as properties of the message itself.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
