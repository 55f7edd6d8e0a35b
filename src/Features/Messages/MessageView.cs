using System.Text.Json;
using System.Text.Json.Serialization;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Data;

namespace Hive.Features.Messages;

/// <summary>What the Messages slice does with a message on the wire.</summary>
internal static class MessageViews
{
    extension(MessageView message)
    {
        /// <summary>
        /// The message as its recipient agent receives it: only the refs it could read itself (its own state dir and
        /// <c>/shared</c>, judged on the real path, so a link in its own dir to another agent's file does not count). The
        /// operator's views keep every ref; an agent must not learn through its inbox whether a file exists in another agent's
        /// state dir (it could send itself a body naming paths, or links to them, and read the answer off the refs).
        /// </summary>
        public MessageView ForRecipient(string agent, IStateFileAllowList allowList)
        {
            var readable = message.FileRefs.Where(path => allowList.Accepts(path, agent)).ToList();
            return readable.Count == message.FileRefs.Count ? message : message with { FileRefs = readable };
        }
    }
}

public static class MessageKinds
{
    public const string Message = "message";
    public const string Reminder = "reminder";
    public const string Answer = "answer";
    public const string Undeliverable = "undeliverable";
    /// <summary>An agent's own wake-up (<c>request_next_turn</c>).</summary>
    public const string NextTurn = "next_turn";
}

/// <summary>A <c>messages</c> row as stored; <see cref="View"/> adds what is computed at read time.</summary>
internal sealed record MessageRow(
    long Id, string Sender, string Recipient, string Kind, string Body, DateTimeOffset SentAt, DateTimeOffset? DeliveredAt, Json<Dictionary<string, JsonElement>>? Meta,
    long DeliveryCount = 0, DateTimeOffset? UndeliverableAt = null, long? InReplyTo = null, long? BroadcastId = null)
{
    public const string Columns =
        "id, sender, recipient, kind, body, sent_at, delivered_at, meta, delivery_count, undeliverable_at, in_reply_to, broadcast_id";

    // File refs never cross hives: a path in a message from agent@other-hive names a file over there, not here.
    public MessageView View(IFileRefScanner scanner) =>
        new(Id, Sender, Recipient, Kind, Body, SentAt, DeliveredAt, Sender.Contains('@') ? [] : scanner.Scan(Body), (int)DeliveryCount, UndeliverableAt, InReplyTo, BroadcastId)
        {
            Extra = Meta?.Value,
        };
}
