using System.Text.Json;
using Hive.Shared.Json;

namespace Hive.Features.Constellation;

/// <summary>
/// What travels between hives, as the JSON body of one AMQP message (its <c>message-id</c> is the global id
/// <c>&lt;hive&gt;:&lt;outbox id&gt;</c>, its <c>user-id</c> the sending hive's RabbitMQ user, which must be that hive's name).
/// Addresses are whole (<c>alice@a</c>); file refs are not carried (they name files on the sender's disk).
/// </summary>
/// <param name="About">For an undeliverable notice: the global id of the message that was not delivered.</param>
/// <param name="Recipient">For an undeliverable notice: the address that named no one.</param>
internal sealed record MailEnvelope(string Kind, string From, string To, string Body, DateTimeOffset SentAt, string? About = null, string? Recipient = null)
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
