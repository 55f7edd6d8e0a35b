using System.Text.Json;
using Hive.Contracts.Json;

namespace Hive.Features.Constellation;

/// <summary>
/// What travels between hives, as the JSON body of one AMQP message (its <c>message-id</c> is the global id
/// <c>&lt;hive&gt;:&lt;outbox id&gt;</c>, its <c>user-id</c> the sending hive's RabbitMQ user, which must be that hive's name).
/// Addresses are whole (<c>alice@a</c>); file refs are not carried (they name files on the sender's disk).
/// </summary>
/// <param name="About">For an undeliverable notice: the global id of the message that was not delivered.</param>
/// <param name="Recipient">For an undeliverable notice: the address that named no one.</param>
/// <param name="Seq">
/// Its number in the sending hive's mail to this hive (1, 2, ...), so the receiver takes each pair's mail in order even when
/// the broker or a republish reorders it; null from a hive that numbers nothing (taken in as it comes).
/// </param>
internal sealed record MailEnvelope(
    string Kind, string From, string To, string Body, DateTimeOffset SentAt, string? About = null, string? Recipient = null, long? Seq = null)
{
    public const string Message = "message";
    public const string Undeliverable = "undeliverable";

    public string ToJson() => JsonSerializer.Serialize(this, HiveJson.Options);

    /// <summary>The envelope, or null when the bytes are not one (a poison message).</summary>
    public static MailEnvelope? Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize<MailEnvelope>(body, HiveJson.Options);
            return envelope is { Kind: not null, From: not null, To: not null, Body: not null } ? envelope : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
